// End-to-end test of the Warden web console in headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core). Started by tests/console.rs,
// which runs the server, creates the approvals and passes everything in the
// environment; screenshots go to $ARTIFACTS.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import path from "node:path";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const URL = env("CONSOLE_URL");
const ART = env("ARTIFACTS");
const shot = (page, name) => page.screenshot({ path: path.join(ART, `${name}.png`), fullPage: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});

async function signIn(token) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${URL}/login`);
  await page.getByLabel("Access token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  return page;
}

function step(name) { console.log(`step: ${name}`); }

// A narrow window (700 px, a laptop's split screen) scrolls down, never
// sideways; and nobody reads nanoseconds: times show to the second.
async function readable(page, what) {
  const width = page.viewportSize().width;
  await page.setViewportSize({ width: 700, height: 900 });
  const scroll = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scroll <= 700, `${what}: ${scroll} px wide in a 700 px window`);
  await shot(page, `${what}-700px`);
  await page.setViewportSize({ width, height: 900 });
  const text = await page.locator("main").innerText();
  assert.doesNotMatch(text, /\d{2}:\d{2}:\d{2}\.\d/, `${what}: fractions of a second`);
}

try {
  // An agent's token cannot use the console.
  step("agent refused");
  const agent = await signIn(env("AGENT_TOKEN"));
  await agent.getByTestId("login-error").waitFor();
  assert.match(await agent.getByTestId("login-error").innerText(), /agent credentials cannot use the console/);
  await shot(agent, "login-refused");

  // A reviewer signs in and sees the queue, highest risk first.
  step("reviewer queue");
  const alice = await signIn(env("REVIEWER_TOKEN"));
  await alice.waitForURL(`${URL}/approvals`);
  assert.equal(await alice.getByTestId("who").innerText(), "alice");
  for (const id of [env("APPROVE_ID"), env("DENY_ID"), env("EXPIRE_ID")]) {
    await alice.locator(`tr[data-approval="${id}"]`).waitFor();
  }
  await shot(alice, "approvals");

  // An approval raised by ScoreOutput says it is about a model output and
  // shows the text, not a tool with the text as its "arguments".
  step("output approval");
  const outputRow = alice.locator(`tr[data-approval="${env("OUTPUT_ID")}"]`);
  await outputRow.waitFor();
  assert.equal(await outputRow.locator('[data-surface="output"]').innerText(), "model output");
  await outputRow.locator("a").click();
  await alice.getByRole("heading", { name: "Approve or deny model output" }).waitFor();
  assert.equal(await alice.getByTestId("text-under-review").innerText(), env("OUTPUT_TEXT"));
  await alice.getByText("The model's output").waitFor();
  await shot(alice, "approval-output");
  await alice.goto(`${URL}/approvals`);

  // Approve one: the reviewer sees the action, findings and session path.
  step("approve");
  await alice.locator(`tr[data-approval="${env("APPROVE_ID")}"] a`).click();
  await alice.getByRole("heading", { name: /Approve or deny/ }).waitFor();
  assert.equal(await alice.getByTestId("state").innerText(), "pending");
  await alice.getByText("The session so far").waitFor();
  await shot(alice, "approval");
  // Each reason once: the findings behind them are folded away.
  const shown = await alice.locator("main").innerText();
  for (const reason of await alice.getByTestId("reasons").locator("li").allInnerTexts()) {
    assert.equal(shown.split(reason).length - 1, 1, `shown more than once: ${reason}`);
  }
  await readable(alice, "approval");
  await alice.getByLabel("Reason (recorded with your decision)").fill("order A-1 checked with the carrier");
  await alice.getByRole("button", { name: "Approve" }).click();
  await alice.waitForURL(`${URL}/approvals`);
  await alice.locator(`li[data-closed="${env("APPROVE_ID")}"][data-state="approved"]`).waitFor();
  assert.equal(await alice.locator(`tr[data-approval="${env("APPROVE_ID")}"]`).count(), 0);

  // Deny another, keyboard only: tab to the link, Enter, type, submit.
  step("deny");
  await alice.locator(`tr[data-approval="${env("DENY_ID")}"] a`).focus();
  await alice.keyboard.press("Enter");
  await alice.getByLabel("Reason (recorded with your decision)").focus();
  await alice.keyboard.type("amount above the customer's order total");
  await alice.getByRole("button", { name: "Deny" }).focus();
  await alice.keyboard.press("Enter");
  await alice.waitForURL(`${URL}/approvals`);
  await alice.locator(`li[data-closed="${env("DENY_ID")}"][data-state="denied"]`).waitFor();

  // Nobody approves their own request.
  step("own request refused");
  const bob = await signIn(env("SELF_TOKEN"));
  await bob.goto(`${URL}/approvals/${env("OWN_ID")}`);
  await bob.getByLabel("Reason (recorded with your decision)").fill("looks fine to me");
  await bob.getByRole("button", { name: "Approve" }).click();
  await bob.getByTestId("decide-error").waitFor();
  assert.match(await bob.getByTestId("decide-error").innerText(), /may not decide/);
  await shot(bob, "own-request-refused");

  // A reviewer is not an investigator.
  step("reviewer cannot investigate");
  const refused = await alice.goto(`${URL}/investigate`);
  assert.equal(refused.status(), 403);
  await alice.goto(`${URL}/approvals`);

  // The expiry arrives live, without a reload.
  step("live expiry");
  await alice.locator(`li[data-closed="${env("EXPIRE_ID")}"][data-state="expired"]`).waitFor({ timeout: 90_000 });
  assert.equal(await alice.locator(`tr[data-approval="${env("EXPIRE_ID")}"]`).count(), 0);
  await shot(alice, "approvals-after-expiry");

  // An auditor answers "why did the agent issue this refund?": search by
  // tool, open the session, every record's proof checked in the page.
  step("investigate");
  const carol = await signIn(env("AUDITOR_TOKEN"));
  await carol.goto(`${URL}/investigate`);
  await carol.getByLabel("Tool").fill("issue_refund");
  await carol.getByRole("button", { name: "Search" }).click();
  await carol.locator("table.records tbody tr").first().waitFor();
  await shot(carol, "investigate");
  await readable(carol, "investigate");
  await carol.locator(`a[href="/sessions/${env("SESSION")}"]`).first().click();
  await carol.getByRole("heading", { name: /Session/ }).waitFor();
  await carol.locator(".proof-summary[data-total]").waitFor({ timeout: 60_000 });
  const summary = carol.locator(".proof-summary");
  const total = Number(await summary.getAttribute("data-total"));
  assert.ok(total >= 4, `timeline has ${total} records`);
  assert.equal(await summary.getAttribute("data-verified"), String(total));
  assert.equal(await carol.locator('td[data-status="failed"]').count(), 0);
  assert.match(await carol.locator('td[data-status="verified"]').first().innerText(), /verified \(tree \d+, signed\)/);
  // The approval with its reviewer and reason is on the timeline.
  await carol.getByText(/approved by alice/).first().waitFor();
  // A client event shows what the client recorded.
  await carol.getByText(/tool_call: .*gen_ai\.tool\.name=lookup_order/).first().waitFor();
  await shot(carol, "timeline");
  await readable(carol, "timeline");

  // Reports: generate one for today and open it.
  step("reports");
  await carol.goto(`${URL}/reports`);
  const today = new Date().toISOString().slice(0, 10);
  await carol.getByLabel("Framework").selectOption("eu-ai-act");
  await carol.getByLabel("From (date)").fill(today);
  await carol.getByLabel("To (date, inclusive)").fill(today);
  await carol.getByRole("button", { name: "Generate" }).click();
  await carol.locator("tr[data-report]").first().waitFor();
  await shot(carol, "reports");
  await carol.getByRole("link", { name: "Open" }).first().click();
  await carol.getByRole("heading", { name: /Compliance evidence/ }).waitFor();
  await shot(carol, "report");

  step("sign out");
  await carol.goto(`${URL}/reports`);
  await carol.getByRole("button", { name: "Sign out" }).click();
  await carol.waitForURL(`${URL}/login`);
  const after = await carol.goto(`${URL}/investigate`);
  assert.ok(after.url().endsWith("/login"), "signed out: back to sign-in");
  console.log("console e2e: ok");
} finally {
  await browser.close();
}
