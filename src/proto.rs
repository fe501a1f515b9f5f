//! Generated protobuf and gRPC code for `warden.v1`, its proto3 JSON mapping,
//! the encoded file descriptor set for reflection, and the codec every service
//! uses. Only `server/` and `main.rs` use these types; the domain has its own.

#![allow(clippy::all, clippy::pedantic, missing_docs)]

pub mod v1 {
    tonic::include_proto!("warden.v1");
    include!(concat!(env!("OUT_DIR"), "/warden.v1.serde.rs"));
}

/// The file descriptor set of every Warden proto, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/warden_descriptor.bin"));

pub mod codec {
    //! The stock prost codec answers `INTERNAL` for any payload it cannot
    //! decode. A malformed request (for example invalid UTF-8 in a string
    //! field) is the client's fault, so this codec answers `INVALID_ARGUMENT`
    //! with prost's description, which names the message and field.

    use std::marker::PhantomData;

    use tonic::codec::{Codec, DecodeBuf, Decoder};
    use tonic::{Code, Status};
    use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

    #[derive(Debug, Clone)]
    pub struct WardenCodec<T, U>(PhantomData<(T, U)>);

    impl<T, U> Default for WardenCodec<T, U> {
        fn default() -> Self {
            Self(PhantomData)
        }
    }

    impl<T, U> Codec for WardenCodec<T, U>
    where
        T: prost::Message + Send + 'static,
        U: prost::Message + Default + Send + 'static,
    {
        type Encode = T;
        type Decode = U;
        type Encoder = ProstEncoder<T>;
        type Decoder = WardenDecoder<U>;

        fn encoder(&mut self) -> Self::Encoder {
            ProstCodec::<T, U>::default().encoder()
        }

        fn decoder(&mut self) -> Self::Decoder {
            WardenDecoder(ProstCodec::<T, U>::default().decoder())
        }
    }

    #[derive(Debug)]
    pub struct WardenDecoder<U>(ProstDecoder<U>);

    impl<U: prost::Message + Default> Decoder for WardenDecoder<U> {
        type Item = U;
        type Error = Status;

        fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
            self.0.decode(buf).map_err(|status| {
                if status.code() == Code::Internal {
                    Status::invalid_argument(format!("malformed request: {}", status.message()))
                } else {
                    status
                }
            })
        }
    }
}
