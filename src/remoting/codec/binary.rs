//! The ROCKETMQ binary header (serialize type 1, remoting.md §1.3.2). All integers big-endian.
//!
//! | size | field | |
//! | --- | --- | --- |
//! | 2 | code | i16 (sign-extended to i32 on decode) |
//! | 1 | language | i8, the §1.7 number |
//! | 2 | version | i16 |
//! | 4 | opaque | i32 |
//! | 4 | flag | i32 |
//! | 4 | remark_len | i32, 0 = absent |
//! | R | remark | UTF-8 |
//! | 4 | ext_len | i32, bytes of the map that follows, 0 = empty |
//! | E | ext map | repeated: key_len i16, key, val_len i32, value |
//!
//! Decoding follows Java: a zero-length remark is `None`, entries with an empty key or value are
//! dropped, a repeated key keeps the last value, bytes after the map inside the header are
//! ignored, invalid UTF-8 is replaced (U+FFFD). Negative lengths, and lengths that run past the
//! header (or an entry past `ext_len`), are errors naming the field. Encoding writes what decoding
//! reads back: entries with an empty key or value are skipped, and a code, version or language
//! number that does not fit its field is an [`EncodeError::OutOfRange`] (JSON has no such limit).

use bytes::{BufMut, BytesMut};

use super::{DecodeError, EncodeError};
use crate::remoting::code::LanguageCode;
use crate::remoting::command::{ExtFields, RemotingCommand, SerializeType};

pub(super) fn encode(cmd: &RemotingCommand, dst: &mut BytesMut) -> Result<(), EncodeError> {
    let code = i16::try_from(cmd.code).map_err(|_| EncodeError::OutOfRange {
        field: "code",
        value: cmd.code,
        bits: 16,
    })?;
    let language = cmd.language.as_i32();
    let language = i8::try_from(language).map_err(|_| EncodeError::OutOfRange {
        field: "language",
        value: language,
        bits: 8,
    })?;
    let version = i16::try_from(cmd.version).map_err(|_| EncodeError::OutOfRange {
        field: "version",
        value: cmd.version,
        bits: 16,
    })?;
    dst.put_i16(code);
    dst.put_i8(language);
    dst.put_i16(version);
    dst.put_i32(cmd.opaque);
    dst.put_i32(cmd.flag);
    let remark = cmd.remark.as_deref().unwrap_or("");
    dst.put_i32(len_i32(remark.len())?);
    dst.extend_from_slice(remark.as_bytes());

    let ext_len_at = dst.len();
    dst.put_i32(0);
    for (key, value) in &cmd.ext_fields {
        if key.is_empty() || value.is_empty() {
            continue;
        }
        let key_len = i16::try_from(key.len()).map_err(|_| EncodeError::KeyTooLong(key.len()))?;
        dst.put_i16(key_len);
        dst.extend_from_slice(key.as_bytes());
        dst.put_i32(len_i32(value.len())?);
        dst.extend_from_slice(value.as_bytes());
    }
    let ext_len = len_i32(dst.len() - ext_len_at - 4)?;
    dst[ext_len_at..ext_len_at + 4].copy_from_slice(&ext_len.to_be_bytes());
    Ok(())
}

/// A length as the header's i32; anything that large could not fit the 24-bit header anyway.
fn len_i32(len: usize) -> Result<i32, EncodeError> {
    i32::try_from(len).map_err(|_| EncodeError::HeaderTooLong(len))
}

/// Decodes a binary header; the body is left empty for the frame layer to fill.
pub(super) fn decode(header: &[u8]) -> Result<RemotingCommand, DecodeError> {
    let mut r = Reader { buf: header };
    let code = i32::from(r.i16("code")?);
    let language = LanguageCode::from_i32(i32::from(r.i8("language")?));
    let version = i32::from(r.i16("version")?);
    let opaque = r.i32("opaque")?;
    let flag = r.i32("flag")?;
    let remark_len = r.len_i32("remark_len")?;
    let remark = r.take(remark_len, "remark")?;
    let remark = (!remark.is_empty()).then(|| String::from_utf8_lossy(remark).into_owned());
    let ext_len = r.len_i32("ext_len")?;
    let ext = r.take(ext_len, "ext map")?;
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields: decode_ext(ext)?,
        serialize_type: SerializeType::RocketMq,
        ..RemotingCommand::default()
    })
}

fn decode_ext(ext: &[u8]) -> Result<ExtFields, DecodeError> {
    let mut fields = ExtFields::new();
    let mut r = Reader { buf: ext };
    while !r.buf.is_empty() {
        let key_len = r.i16("ext key_len")?;
        let key_len = usize::try_from(key_len).map_err(|_| DecodeError::Binary {
            field: "ext key_len",
            reason: "negative length",
        })?;
        let key = r.take(key_len, "ext key")?;
        let value_len = r.len_i32("ext val_len")?;
        let value = r.take(value_len, "ext value")?;
        if key.is_empty() || value.is_empty() {
            continue;
        }
        fields.insert(
            String::from_utf8_lossy(key).into_owned(),
            String::from_utf8_lossy(value).into_owned(),
        );
    }
    Ok(fields)
}

/// A cursor that never reads past its slice.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if n > self.buf.len() {
            return Err(DecodeError::Binary {
                field,
                reason: "runs past the end of the header",
            });
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn i8(&mut self, field: &'static str) -> Result<i8, DecodeError> {
        self.array::<1>(field).map(i8::from_be_bytes)
    }

    fn i16(&mut self, field: &'static str) -> Result<i16, DecodeError> {
        self.array::<2>(field).map(i16::from_be_bytes)
    }

    fn i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        self.array::<4>(field).map(i32::from_be_bytes)
    }

    /// An i32 length; negative is an error.
    fn len_i32(&mut self, field: &'static str) -> Result<usize, DecodeError> {
        let len = self.i32(field)?;
        usize::try_from(len).map_err(|_| DecodeError::Binary {
            field,
            reason: "negative length",
        })
    }
}
