//! The SEND_BATCH_MESSAGE body (remoting.md §4.4): the messages of one batch back to back, each
//! `total | magic | body crc | flag | body len | body | props len (i16) | props` (Java's
//! `MessageDecoder.encodeMessages`), magic and body CRC written as zeros.
//!
//! The client writes it ([`encode_batch_item`]), the broker reads it ([`parse_batch`]) and
//! turns each item into a stored message with the batch-level properties added. Owns the bytes
//! only: size limits, properties rules and MESSAGE_ILLEGAL are the sender's and the broker's.

use super::{Properties, parse_properties};

/// One message inside a batch body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItem {
    pub flag: i32,
    pub body: Vec<u8>,
    pub properties: Properties,
}

/// Why a batch body is refused (the broker answers MESSAGE_ILLEGAL with this text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed batch: {0}")]
pub struct BatchError(&'static str);

/// Reads a SEND_BATCH_MESSAGE body (remoting.md §4.4): inner records of
/// `total | magic | body crc | flag | body len | body | props len (i16) | props`.
pub fn parse_batch(body: &[u8]) -> Result<Vec<BatchItem>, BatchError> {
    let bad = BatchError;
    let mut items = Vec::new();
    let mut at = 0usize;
    while at < body.len() {
        let rest = &body[at..];
        let i32_at = |off: usize| -> Result<i32, BatchError> {
            rest.get(off..off + 4)
                .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                .ok_or_else(|| bad("truncated header"))
        };
        let total = usize::try_from(i32_at(0)?).map_err(|_| bad("negative size"))?;
        if total < 22 || total > rest.len() {
            return Err(bad("size does not fit the body"));
        }
        let record = &rest[..total];
        let flag = i32_at(12)?;
        let body_len = usize::try_from(i32_at(16)?).map_err(|_| bad("negative body length"))?;
        let body_end = 20usize
            .checked_add(body_len)
            .filter(|&e| e + 2 <= total)
            .ok_or_else(|| bad("body runs past the record"))?;
        let props_len = usize::from(u16::from_be_bytes([record[body_end], record[body_end + 1]]));
        if body_end + 2 + props_len != total {
            return Err(bad("lengths do not add up to the record size"));
        }
        let props = &record[body_end + 2..];
        items.push(BatchItem {
            flag,
            body: record[20..body_end].to_vec(),
            properties: parse_properties(props),
        });
        at += total;
    }
    if items.is_empty() {
        return Err(bad("no message"));
    }
    Ok(items)
}

/// One record of a SEND_BATCH_MESSAGE body (remoting.md §4.4): total size, magic 0, body CRC 0,
/// flag, body length, body, properties length (i16), properties.
pub fn encode_batch_item(out: &mut Vec<u8>, flag: i32, body: &[u8], props: &str) {
    let total = 4 + 4 + 4 + 4 + 4 + body.len() + 2 + props.len();
    // Lengths were checked by the caller against the 4 MiB body and i16 property limits.
    out.extend_from_slice(&(total as i32).to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
    out.extend_from_slice(&flag.to_be_bytes());
    out.extend_from_slice(&(body.len() as i32).to_be_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&(props.len() as i16).to_be_bytes());
    out.extend_from_slice(props.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One record as the client writes it.
    fn batch_record(flag: i32, body: &[u8], props: &str) -> Vec<u8> {
        let mut r = Vec::new();
        encode_batch_item(&mut r, flag, body, props);
        r
    }

    #[test]
    fn malformed_batches_are_refused_and_random_bytes_never_panic() {
        assert!(parse_batch(&[]).is_err());
        let mut r = batch_record(0, b"x", "");
        r[0..4].copy_from_slice(&100i32.to_be_bytes());
        assert!(parse_batch(&r).is_err());
        let mut r = batch_record(0, b"x", "");
        r[16..20].copy_from_slice(&1000i32.to_be_bytes());
        assert!(parse_batch(&r).is_err());
        use rand::{Rng, SeedableRng};
        let seed: u64 = rand::random();
        println!("seed {seed}");
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        for _ in 0..5000 {
            let len = rng.random_range(0..80);
            let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            let _ = parse_batch(&bytes);
        }
    }
}
