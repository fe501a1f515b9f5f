# Warden's built-in action policy: how an agent's tool call becomes findings
# with a level. Rego v1 (OPA), evaluated by regorus inside Warden.
#
# Input (see ARCHITECTURE.md, "Action policy input"):
#   input.tool, input.arguments, input.rationale
#   input.context  {tenant, application, session_id, user_id, labels}
#   input.facts    what the built-in analysers found: families, money, sql,
#                  shell, paths, urls, recipients, max_list_len, blast_radius
#                  (recipients listed and declared, distribution lists,
#                  rows, bulk verb, export, public sharing, broad grants)
#   input.findings personal data and secrets the rule detectors found in the
#                  arguments: [{category, score}]
#   input.session  what this session has seen: injection_seen,
#                  untrusted_content, private_data_access, pii_seen,
#                  high_risk_actions_last_minute, actions
#
# Output:
#   result    array of {id, category, level, message, checks}; level is one of
#             low, medium, high, critical. The strongest level decides
#             (low: allow, medium: review with the checks, high: a human
#             approves, critical: block), together with the risk policy.
#   effects   set of strings this call adds to the session:
#             "private_data_access", "untrusted_content", "outbound".
#
# Extend it with your own files in the policy dir: `*.rego` in this package
# add findings (`findings contains {...} if {...}`); `*.json` data
# ({"warden": {"config": {...}}}) is merged over `defaults` below, with per
# tenant and per application values under config.tenants.<t> and
# config.tenants.<t>.applications.<a>, and `"suppress": ["<finding id>"]`
# removes a built-in finding.
package warden.action

defaults := {
	"money": {
		# Payments at or below this are allowed; above needs approval. A kind of
		# payment may have its own: "refund": {"EUR": 200}, "transfer": {...},
		# "charge", "payment" (the kinds findings name).
		"auto_approve_limit": {"default": 500, "EUR": 500, "USD": 500, "GBP": 450, "CHF": 500, "JPY": 75000},
		# Above this a payment is blocked outright.
		"block_limit": {"default": 50000, "EUR": 50000, "USD": 50000, "GBP": 45000, "CHF": 50000, "JPY": 7500000},
	},
	# Recipients in these domains (and their subdomains) are internal.
	"internal_domains": [],
	# Hosts an agent may send data to without review; empty means none are
	# pre-approved.
	"allowed_hosts": [],
	# Tables whose rows are personal, financial or security data.
	"sensitive_tables": [
		"users", "user", "customers", "customer", "accounts", "account", "payments", "payment",
		"transactions", "credentials", "secrets", "passwords", "api_keys", "tokens", "sessions",
		"employees", "salaries", "payroll", "patients", "medical_records", "cards", "audit_log",
		"permissions", "roles",
	],
	# Words in a read tool's name that mean it reads private data.
	"private_nouns": [
		"email", "emails", "inbox", "mail", "customer", "customers", "user", "users", "account", "accounts",
		"contact", "contacts", "patient", "patients", "employee", "employees", "salary", "calendar",
		"message", "messages", "file", "files", "document", "documents", "record", "records", "order",
		"orders", "invoice", "invoices", "profile", "profiles", "drive", "notes", "transactions", "balance",
	],
	# Words in a tool's name that mean it brings outside content in.
	"untrusted_nouns": ["web", "browse", "url", "page", "website", "internet", "scrape", "crawl", "rss"],
	# More recipients than this in one call is a bulk send.
	"bulk_recipients": 20,
	# More items than this in one delete or write is a bulk change.
	"bulk_items": 100,
	# Blast radius: how many people or rows one call reaches
	# (input.facts.blast_radius). A call beyond these gets `level` (high: a
	# human approves; "medium" asks for a review, "critical" blocks), and so
	# do a message to an external distribution list Warden cannot count, a
	# change to every row through a tool's arguments, a bulk change with no
	# bound, an export of a whole table, public sharing and grants to
	# everyone. SQL that changes every row is blocked by the SQL rules.
	"blast_radius": {
		# A message reaching more external recipients than this, listed or
		# declared (recipient_count, audience_size, ...).
		"external_recipients": 50,
		# A message reaching more recipients than this, all of them internal.
		"internal_recipients": 1000,
		"level": "high",
	},
	# High-risk actions per session per minute before the next is held.
	"velocity_high_risk_per_minute": 5,
}

# Operators' data, if any (data.warden.config); read directly so that no
# other rule is evaluated to find it.
default user_config := {}

user_config := data.warden.config

base := object.union(defaults, user_config)

tenant_cfg := object.get(base, ["tenants", input.context.tenant], {})

app_cfg := object.get(tenant_cfg, ["applications", input.context.application], {})

cfg := object.union(object.union(base, tenant_cfg), app_cfg)

# ---------------------------------------------------------------- helpers

family(f) if {
	some x in input.facts.families
	x.family == f
}

family_evidence(f) := e if {
	some x in input.facts.families
	x.family == f
	e := x.evidence
}

name_word(w) if {
	some x in input.facts.tool_words
	x == w
}

# A limit for this kind of payment (refund, transfer, charge, payment) in
# this currency, then its "default"; then the limit of every payment.
limit(kind, currency) := v if {
	v := cfg.money[kind][pay_verb][currency]
} else := v if {
	v := cfg.money[kind][pay_verb]["default"]
} else := v if {
	v := cfg.money[kind][currency]
} else := cfg.money[kind]["default"]

pad3(n) := concat("", ["00", format_int(n, 10)]) if {
	n < 10
} else := concat("", ["0", format_int(n, 10)]) if {
	n < 100
} else := format_int(n, 10)

# 9800 -> "9,800"; limits are whole numbers.
fmt_int(n) := format_int(n, 10) if {
	n < 1000
} else := sprintf("%s,%s", [format_int(n / 1000, 10), pad3(floor(n) % 1000)]) if {
	n < 1000000
} else := sprintf("%s,%s,%s", [format_int(n / 1000000, 10), pad3(floor(n / 1000) % 1000), pad3(floor(n) % 1000)])

fmt_money(n, c) := sprintf("%s %s", [fmt_int(n), c]) if {
	c != ""
} else := fmt_int(n)

pay_verb := "refund" if {
	some w in input.facts.tool_words
	startswith(w, "refund")
} else := "transfer" if {
	some w in input.facts.tool_words
	w in {"transfer", "wire", "payout", "remit", "disburse", "withdraw"}
} else := "charge" if {
	name_word("charge")
} else := "payment"

internal(domain) if {
	some d in cfg.internal_domains
	domain == lower(d)
}

internal(domain) if {
	some d in cfg.internal_domains
	endswith(domain, concat("", [".", lower(d)]))
}

external_domains := {d | some d in input.facts.recipients.domains; not internal(d)}

url_hosts := sort({u.host | some u in input.facts.urls})

allowed_host(host) if {
	some h in cfg.allowed_hosts
	host == lower(h)
}

allowed_host(host) if {
	some h in cfg.allowed_hosts
	endswith(host, concat("", [".", lower(h)]))
}

sensitive_table(t) if {
	some s in cfg.sensitive_tables
	t == s
}

has_finding(prefix) if {
	some f in input.findings
	startswith(f.category, prefix)
}

outbound if family("external_communication")

outbound if {
	some s in input.facts.shell
	s.kind == "exfiltration"
}

outbound if {
	some u in input.facts.urls
	not allowed_host(u.host)
	some w in input.facts.tool_words
	w in {"post", "webhook", "upload", "send", "publish", "put"}
}

high_risk_family if family("payment")

high_risk_family if family("delete")

high_risk_family if family("code_execution")

high_risk_family if family("permission_change")

high_risk_family if outbound

# ---------------------------------------------------------------- reads

findings contains {
	"id": "read.only",
	"category": "action.read",
	"level": "low",
	"message": sprintf("tool \"%s\" only reads (%s)", [input.tool, family_evidence("read")]),
	"checks": [],
} if {
	input.facts.read_only_name
	count(input.facts.sql) == 0
	count(input.facts.shell) == 0
}

findings contains {
	"id": "read.unrecognised",
	"category": "action.unknown",
	"level": "low",
	"message": sprintf("tool \"%s\" matches no known family; judged on its arguments only", [input.tool]),
	"checks": [],
} if {
	count(input.facts.families) == 0
	count(input.facts.sql) == 0
	count(input.facts.shell) == 0
}

# ---------------------------------------------------------------- money

findings contains {
	"id": "payment.within_limit",
	"category": "action.payment",
	"level": "low",
	"message": sprintf("%s of %s is within the %s auto-approve limit", [pay_verb, m.display, fmt_money(lim, m.currency)]),
	"checks": [],
} if {
	family("payment")
	some m in input.facts.money
	lim := limit("auto_approve_limit", m.currency)
	m.amount <= lim
}

findings contains {
	"id": "payment.over_limit",
	"category": "action.payment",
	"level": "high",
	"message": sprintf("%s of %s is above the %s auto-approve limit", [pay_verb, m.display, fmt_money(lim, m.currency)]),
	"checks": ["confirm the amount and the recipient"],
} if {
	family("payment")
	some m in input.facts.money
	lim := limit("auto_approve_limit", m.currency)
	m.amount > lim
	m.amount <= limit("block_limit", m.currency)
}

findings contains {
	"id": "payment.over_block_limit",
	"category": "action.payment",
	"level": "critical",
	"message": sprintf("%s of %s is above the %s limit that no agent may move", [pay_verb, m.display, fmt_money(lim, m.currency)]),
	"checks": [],
} if {
	family("payment")
	some m in input.facts.money
	lim := limit("block_limit", m.currency)
	m.amount > lim
}

findings contains {
	"id": "payment.no_amount",
	"category": "action.payment",
	"level": "high",
	"message": sprintf("tool \"%s\" moves money (%s) but Warden found no amount in its arguments", [input.tool, family_evidence("payment")]),
	"checks": ["confirm the amount and the recipient"],
} if {
	family("payment")
	count(input.facts.money) == 0
	not input.facts.read_only_name
}

findings contains {
	"id": "payment.negative",
	"category": "action.payment",
	"level": "high",
	"message": sprintf("%s with a negative amount (%s)", [pay_verb, m.display]),
	"checks": ["confirm the direction of the payment"],
} if {
	family("payment")
	some m in input.facts.money
	m.amount < 0
}

# ---------------------------------------------------------------- SQL

touches_sensitive(s) if {
	some t in s.tables
	sensitive_table(t)
}

findings contains {
	"id": "sql.read",
	"category": "action.data_read",
	"level": "low",
	"message": sprintf("read-only SQL (%s) on %s", [s.statement, tables_text(s.tables)]),
	"checks": [],
} if {
	some s in input.facts.sql
	not s.writes
	not touches_sensitive(s)
}

findings contains {
	"id": "sql.read_sensitive",
	"category": "action.data_read",
	"level": "medium",
	"message": sprintf("read-only SQL (%s) on sensitive table(s) %s", [s.statement, tables_text(s.tables)]),
	"checks": ["confirm the agent needs these rows"],
} if {
	some s in input.facts.sql
	not s.writes
	touches_sensitive(s)
}

tables_text(ts) := "no table" if {
	count(ts) == 0
} else := concat(", ", ts)

# No WHERE, or one every row passes (1 = 1, TRUE, id IS NOT NULL).
unfiltered(s) if s.without_where

unfiltered(s) if s.always_true_where

findings contains {
	"id": "sql.write",
	"category": "action.data_write",
	"level": level,
	"message": sprintf("SQL %s changes %s", [upper(s.statement), tables_text(s.tables)]),
	"checks": ["dry run the statement", "confirm the change to the data"],
} if {
	some s in input.facts.sql
	s.statement in {"insert", "update", "merge"}
	not unfiltered(s)
	level := sql_write_level(s)
}

sql_write_level(s) := "high" if {
	touches_sensitive(s)
} else := "medium"

findings contains {
	"id": "sql.delete",
	"category": "action.data_delete",
	"level": "high",
	"message": sprintf("SQL DELETE removes rows from %s", [tables_text(s.tables)]),
	"checks": ["confirm what will be deleted and that it can be restored"],
} if {
	some s in input.facts.sql
	s.statement == "delete"
	not unfiltered(s)
}

findings contains {
	"id": "sql.without_where",
	"category": sql_rows_category(s),
	"level": "critical",
	"message": sprintf("SQL %s %s touches every row of %s", [upper(s.statement), where_text(s), tables_text(s.tables)]),
	"checks": [],
} if {
	some s in input.facts.sql
	unfiltered(s)
}

where_text(s) := "without WHERE" if {
	s.without_where
} else := "with an always-true WHERE"

sql_rows_category(s) := "action.data_write" if {
	s.statement == "update"
} else := "action.data_delete"

findings contains {
	"id": "sql.drop",
	"category": "action.data_delete",
	"level": "critical",
	"message": sprintf("SQL %s destroys %s", [upper(s.statement), tables_text(s.tables)]),
	"checks": [],
} if {
	some s in input.facts.sql
	s.statement == "drop"
}

findings contains {
	"id": "sql.ddl",
	"category": "action.schema_change",
	"level": "high",
	"message": sprintf("SQL changes the schema of %s", [tables_text(s.tables)]),
	"checks": ["review the migration"],
} if {
	some s in input.facts.sql
	s.statement == "ddl"
}

findings contains {
	"id": "sql.grant",
	"category": "action.permission_change",
	"level": "high",
	"message": "SQL GRANT or REVOKE changes database permissions",
	"checks": ["confirm the permission change with its owner"],
} if {
	some s in input.facts.sql
	s.statement == "grant"
}

findings contains {
	"id": "sql.unparsed",
	"category": "action.data_write",
	"level": "medium",
	"message": sprintf("SQL Warden could not parse (%s); treated as a write", [s.error]),
	"checks": ["review the statement by hand"],
} if {
	some s in input.facts.sql
	s.statement in {"unparsed", "other"}
}

# ---------------------------------------------------------------- shell

shell_levels := {
	"download_exec": "critical",
	"destructive": "critical",
	"reverse_shell": "critical",
	"privilege_escalation": "high",
	"exfiltration": "high",
	"command": "medium",
}

findings contains {
	"id": concat(".", ["shell", s.kind]),
	"category": "action.code_execution",
	"level": shell_levels[s.kind],
	"message": sprintf("shell command: %s", [s.evidence]),
	"checks": ["review the command before it runs", "run it in a sandbox or as a dry run"],
} if {
	some s in input.facts.shell
}

findings contains {
	"id": "code.execution",
	"category": "action.code_execution",
	"level": "medium",
	"message": sprintf("tool \"%s\" runs code (%s)", [input.tool, family_evidence("code_execution")]),
	"checks": ["review the code before it runs", "run it in a sandbox or as a dry run"],
} if {
	family("code_execution")
	count(input.facts.shell) == 0
	count(input.facts.sql) == 0
	not input.facts.read_only_name
}

# ---------------------------------------------------------------- files and URLs

findings contains {
	"id": "file.sensitive",
	"category": "action.sensitive_read",
	"level": "high",
	"message": sprintf("touches %s, a %s file", [p.value, replace(p.sensitive, "_", " ")]),
	"checks": ["confirm the agent needs this file"],
} if {
	some p in input.facts.paths
	p.sensitive != ""
}

findings contains {
	"id": "url.outbound",
	"category": "action.external_communication",
	"level": "medium",
	"message": sprintf("sends data to %s, which is not an allowed host", [u.host]),
	"checks": ["check the destination and the content"],
} if {
	some u in input.facts.urls
	not allowed_host(u.host)
	some w in input.facts.tool_words
	w in {"post", "webhook", "upload", "publish", "put"}
}

# ---------------------------------------------------------------- communication

findings contains {
	"id": "comms.internal",
	"category": "action.external_communication",
	"level": "low",
	"message": sprintf("message to %d internal recipient(s) only (%s)", [input.facts.recipients.count, concat(", ", input.facts.recipients.domains)]),
	"checks": [],
} if {
	not family("payment")
	family("external_communication")
	count(input.facts.recipients.domains) > 0
	count(external_domains) == 0
	input.facts.recipients.count <= cfg.bulk_recipients
	every l in input.facts.blast_radius.distribution_lists {
		list_internal(l)
	}
}

findings contains {
	"id": "comms.external",
	"category": "action.external_communication",
	"level": "medium",
	"message": sprintf("message to external recipients at %s", [concat(", ", sort(external_domains))]),
	"checks": ["check the recipients and the content", "confirm with the end user"],
} if {
	not family("payment")
	family("external_communication")
	count(external_domains) > 0
	input.facts.recipients.count <= cfg.bulk_recipients
}

findings contains {
	"id": "comms.unknown_recipient",
	"category": "action.external_communication",
	"level": "medium",
	"message": sprintf("tool \"%s\" sends a message (%s) to recipients Warden cannot classify", [input.tool, family_evidence("external_communication")]),
	"checks": ["check the recipients and the content"],
} if {
	not family("payment")
	family("external_communication")
	count(input.facts.recipients.domains) == 0
	count(input.facts.urls) == 0
	not input.facts.read_only_name
}

findings contains {
	"id": "comms.allowed_host",
	"category": "action.external_communication",
	"level": "low",
	"message": sprintf("sends to allowed host(s) only: %s", [concat(", ", url_hosts)]),
	"checks": [],
} if {
	family("external_communication")
	not family("payment")
	count(input.facts.recipients.domains) == 0
	count(input.facts.urls) > 0
	every u in input.facts.urls {
		allowed_host(u.host)
	}
}

findings contains {
	"id": "comms.bulk",
	"category": "action.external_communication",
	"level": "high",
	"message": sprintf("bulk send to %d recipients (more than %d)", [input.facts.recipients.count, cfg.bulk_recipients]),
	"checks": ["check the recipient list"],
} if {
	not family("payment")
	family("external_communication")
	input.facts.recipients.count > cfg.bulk_recipients
}

findings contains {
	"id": "comms.secret",
	"category": "action.external_communication",
	"level": "critical",
	"message": sprintf("outbound message carries a credential (%s)", [f.category]),
	"checks": [],
} if {
	outbound
	some f in input.findings
	startswith(f.category, "secret")
}

# Personal-data categories that identify nobody on their own: places,
# organisations, postcodes, dates, domain names, nationalities, religions,
# political and ethnic groups. A message that carries only these sends no
# personal data out (kept equal to `detect::pii::IDENTIFIES_NO_ONE` by a test).
identifies_no_one := {
	"pii.location", "pii.organization", "pii.date_time", "pii.domain", "pii.nrp",
	"pii.ca_postal_code", "pii.de_postcode", "pii.uk_postcode",
}

findings contains {
	"id": "comms.personal_data_external",
	"category": "action.external_communication",
	"level": "high",
	"message": sprintf("personal data (%s) sent to external recipients at %s", [f.category, concat(", ", sort(external_domains))]),
	"checks": ["confirm the personal data may leave the organisation"],
} if {
	family("external_communication")
	count(external_domains) > 0
	some f in input.findings
	startswith(f.category, "pii")
	not f.category in identifies_no_one
}

# ---------------------------------------------------------------- blast radius

blast := input.facts.blast_radius

blast_level := cfg.blast_radius.level

message_call if {
	family("external_communication")
	not family("payment")
	not input.facts.read_only_name
}

message_kind := "e-mail" if {
	some w in input.facts.tool_words
	w in {"email", "mail", "newsletter"}
} else := "SMS" if {
	name_word("sms")
} else := "message"

listed_external := sum([n | some d, n in blast.addresses_by_domain; not internal(d)])

# A list of staff with no domain, or any list at an internal domain that
# does not name customers, subscribers or users.
list_internal(l) if {
	l.audience == "internal"
	l.domain == ""
}

list_internal(l) if {
	l.audience != "external"
	l.domain != ""
	internal(l.domain)
}

# Everyone the call names is inside the organisation.
all_named_internal if {
	count(blast.addresses_by_domain) + count(blast.distribution_lists) > 0
	listed_external == 0
	every l in blast.distribution_lists {
		list_internal(l)
	}
}

# External recipients Warden can count: those listed outside the internal
# domains, or the declared count unless everyone named is internal.
external_reach := 0 if {
	all_named_internal
} else := max([listed_external, blast.declared_recipients])

declared_text := sprintf(", from %s", [blast.declared_by]) if {
	blast.declared_recipients > listed_external
} else := ""

findings contains {
	"id": "blast.external_recipients",
	"category": "action.external_communication",
	"level": blast_level,
	"message": sprintf("%s to %s recipients (external%s), above %s", [message_kind, fmt_int(external_reach), declared_text, fmt_int(cfg.blast_radius.external_recipients)]),
	"checks": ["check the audience and the content", "confirm the send with its owner"],
} if {
	message_call
	external_reach > cfg.blast_radius.external_recipients
}

findings contains {
	"id": "blast.internal_recipients",
	"category": "action.external_communication",
	"level": blast_level,
	"message": sprintf("%s to %s recipients (internal), above %s", [message_kind, fmt_int(blast.recipients), fmt_int(cfg.blast_radius.internal_recipients)]),
	"checks": ["check the audience and the content"],
} if {
	message_call
	all_named_internal
	blast.recipients > cfg.blast_radius.internal_recipients
}

list_text(l) := sprintf("%s audience, members not counted", [l.audience]) if {
	l.audience != "unknown"
} else := "members not counted"

findings contains {
	"id": "blast.distribution_list",
	"category": "action.external_communication",
	"level": blast_level,
	"message": sprintf("%s to the distribution list %s (%s)", [message_kind, l.name, list_text(l)]),
	"checks": ["check who is on the list", "confirm the send with its owner"],
} if {
	message_call
	blast.declared_recipients == 0
	some l in blast.distribution_lists
	not list_internal(l)
}

findings contains {
	"id": "blast.internal_list",
	"category": "action.external_communication",
	"level": "medium",
	"message": sprintf("%s to the internal distribution list %s (members not counted)", [message_kind, l.name]),
	"checks": ["check the list is meant to receive this"],
} if {
	message_call
	blast.declared_recipients == 0
	some l in blast.distribution_lists
	list_internal(l)
	l.everyone
}

findings contains {
	"id": "blast.bulk_message",
	"category": "action.external_communication",
	"level": blast_level,
	"message": sprintf("tool \"%s\" sends to many at once (tool name word \"%s\") and names no recipients Warden can count", [input.tool, blast.bulk_verb]),
	"checks": ["check the audience and the content", "confirm the send with its owner"],
} if {
	message_call
	blast.bulk_verb != ""
	blast.recipients == 0
	count(blast.distribution_lists) == 0
}

rows_text := {"all": "change to every row", "unbounded": "bulk change with no bound on the rows"}

rows_category := "action.data_delete" if {
	family("delete")
} else := "action.data_write"

# SQL that changes every row is blocked by sql.without_where and sql.drop.
sql_every_row(r) if {
	r.by == "sql"
	r.rows == "all"
}

rows_judged(r) if r.by == "sql"

rows_judged(r) if family("write")

rows_judged(r) if family("delete")

findings contains {
	"id": "blast.rows",
	"category": rows_category,
	"level": blast_level,
	"message": sprintf("%s: %s", [rows_text[r.rows], r.evidence]),
	"checks": ["confirm which rows change and that they can be restored", "dry run"],
} if {
	some r in blast.row_scopes
	not sql_every_row(r)
	rows_judged(r)
	not input.facts.read_only_name
}

findings contains {
	"id": "blast.export",
	"category": "action.data_export",
	"level": blast_level,
	"message": sprintf("tool \"%s\" exports a whole table or collection (%s)", [input.tool, blast.export]),
	"checks": ["confirm the export, its columns and where it goes"],
} if {
	blast.export != ""
}

findings contains {
	"id": "blast.public_sharing",
	"category": "action.permission_change",
	"level": blast_level,
	"message": sprintf("shares with anyone, inside or outside the organisation (%s)", [concat(", ", blast.public_sharing)]),
	"checks": ["confirm the content may be public", "confirm the change with its owner"],
} if {
	count(blast.public_sharing) > 0
	not input.facts.read_only_name
}

findings contains {
	"id": "blast.broad_grant",
	"category": "action.permission_change",
	"level": blast_level,
	"message": sprintf("grants access to everyone in the organisation (%s)", [concat(", ", blast.broad_grants)]),
	"checks": ["confirm the permission change with its owner"],
} if {
	count(blast.broad_grants) > 0
	not input.facts.read_only_name
}

# ---------------------------------------------------------------- other families

findings contains {
	"id": "delete.call",
	"category": "action.data_delete",
	"level": "medium",
	"message": sprintf("tool \"%s\" deletes (%s)", [input.tool, family_evidence("delete")]),
	"checks": ["confirm what will be deleted and that it can be restored"],
} if {
	family("delete")
	count(input.facts.sql) == 0
	not input.facts.read_only_name
	input.facts.max_list_len <= cfg.bulk_items
}

findings contains {
	"id": "delete.bulk",
	"category": "action.data_delete",
	"level": "high",
	"message": sprintf("tool \"%s\" deletes %d items at once (more than %d)", [input.tool, input.facts.max_list_len, cfg.bulk_items]),
	"checks": ["confirm what will be deleted and that it can be restored"],
} if {
	family("delete")
	input.facts.max_list_len > cfg.bulk_items
}

findings contains {
	"id": "permission.change",
	"category": "action.permission_change",
	"level": "high",
	"message": sprintf("tool \"%s\" changes identities or permissions (%s)", [input.tool, family_evidence("permission_change")]),
	"checks": ["confirm the permission change with its owner", "step-up authentication"],
} if {
	family("permission_change")
	not input.facts.read_only_name
}

findings contains {
	"id": "secret.read",
	"category": "action.sensitive_read",
	"level": "high",
	"message": sprintf("tool \"%s\" reads credentials (%s)", [input.tool, family_evidence("sensitive_read")]),
	"checks": ["confirm the agent needs this credential"],
} if {
	family("sensitive_read")
}

findings contains {
	"id": "write.call",
	"category": "action.data_write",
	"level": "medium",
	"message": sprintf("tool \"%s\" changes data (%s)", [input.tool, family_evidence("write")]),
	"checks": ["confirm the change to the data", "dry run"],
} if {
	family("write")
	count(input.facts.sql) == 0
	not family("payment")
	not family("delete")
	not family("permission_change")
	not family("external_communication")
	not family("code_execution")
}

# ---------------------------------------------------------------- session

findings contains {
	"id": "session.lethal_trifecta",
	"category": "action.exfiltration_risk",
	"level": trifecta_level,
	"message": sprintf("outbound action in a session that has read private data and taken in untrusted content%s", [trifecta_why]),
	"checks": ["confirm the content and the recipients with the end user"],
} if {
	outbound
	input.session.private_data_access
	input.session.untrusted_content
}

trifecta_level := "critical" if {
	input.session.injection_seen
} else := "high"

trifecta_why := " after a prompt injection was seen" if {
	input.session.injection_seen
} else := ""

findings contains {
	"id": "session.injection_then_action",
	"category": "action.injection_follow_up",
	"level": "high",
	"message": sprintf("high-risk action after a prompt injection was seen in this session (%s)", [concat(", ", input.session.injection_sources)]),
	"checks": ["confirm the user asked for this action"],
} if {
	input.session.injection_seen
	high_risk_family
}

findings contains {
	"id": "session.personal_data_outbound",
	"category": "action.personal_data_outbound",
	"level": "medium",
	"message": sprintf("outbound to %s in a session that has handled personal data", [concat(", ", sort(external_domains))]),
	"checks": ["confirm with the end user that their personal data may leave the organisation"],
} if {
	outbound
	input.session.pii_seen
	count(external_domains) > 0
}

findings contains {
	"id": "session.velocity",
	"category": "action.velocity",
	"level": "high",
	"message": sprintf("%d high-risk actions in this session in the last minute (limit %d)", [input.session.high_risk_actions_last_minute + 1, cfg.velocity_high_risk_per_minute]),
	"checks": ["check whether the agent is looping"],
} if {
	high_risk_family
	input.session.high_risk_actions_last_minute >= cfg.velocity_high_risk_per_minute
}

# ---------------------------------------------------------------- effects

effects contains "private_data_access" if {
	some f in input.facts.families
	f.family in {"read", "file_access"}
	some w in input.facts.tool_words
	w in cfg.private_nouns
}

effects contains "private_data_access" if family("sensitive_read")

effects contains "private_data_access" if {
	some s in input.facts.sql
	some t in s.tables
	sensitive_table(t)
}

effects contains "private_data_access" if {
	some p in input.facts.paths
	p.sensitive != ""
}

effects contains "untrusted_content" if {
	some w in input.facts.tool_words
	w in cfg.untrusted_nouns
}

effects contains "untrusted_content" if {
	family("read")
	some u in input.facts.urls
	not allowed_host(u.host)
}

effects contains "outbound" if outbound

# Finding ids that data removes (config.suppress, per tenant and application).
suppressed := {id | some id in object.get(cfg, "suppress", [])}

result := [f | some f in findings; not f.id in suppressed]
