//! Reading `usage` from a model response while its bytes pass through.
//!
//! Streaming answers are parsed incrementally, line by line as chunks
//! arrive: only `message_start` (its `message.usage`, the model),
//! `message_delta` (the cumulative `usage`), `message_stop` and `error`
//! events are decoded; the text deltas are skipped without being copied.
//! What is held per stream is at most one partial line, capped. Plain JSON
//! answers are copied up to a cap (they are small) and parsed at the end;
//! past the cap only the tail is kept, where `usage` sits.

use serde::Deserialize;

use super::Tokens;

/// A partial SSE line longer than this is skipped (no usage line is).
const MAX_LINE: usize = 64 * 1024;
/// Plain JSON answers are copied up to this size...
const MAX_JSON: usize = 1024 * 1024;
/// ...and past it, only this much of their end.
const JSON_TAIL: usize = 64 * 1024;

/// The usage fields as they arrive: each may be absent, and a later event
/// (the cumulative `message_delta`) overrides what an earlier one said.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct UsageFields {
    #[serde(default)]
    pub input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens: Option<u64>,
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
}

impl UsageFields {
    fn merge(&mut self, later: &UsageFields) {
        let pick = |a: &mut Option<u64>, b: Option<u64>| {
            if b.is_some() {
                *a = b;
            }
        };
        pick(&mut self.input_tokens, later.input_tokens);
        pick(&mut self.output_tokens, later.output_tokens);
        pick(
            &mut self.cache_creation_input_tokens,
            later.cache_creation_input_tokens,
        );
        pick(
            &mut self.cache_read_input_tokens,
            later.cache_read_input_tokens,
        );
    }

    pub fn tokens(&self) -> Tokens {
        Tokens {
            input: self.input_tokens.unwrap_or(0),
            output: self.output_tokens.unwrap_or(0),
            cache_creation: self.cache_creation_input_tokens.unwrap_or(0),
            cache_read: self.cache_read_input_tokens.unwrap_or(0),
        }
    }
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    usage: Option<UsageFields>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    message: Option<Message>,
    #[serde(default)]
    usage: Option<UsageFields>,
}

/// The non-streaming body: `model` and `usage` at the top level.
#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    usage: Option<UsageFields>,
}

/// The last `event:` name, which says whether its `data:` matters.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Current {
    /// No `event:` line in this event (yet): look at the data itself.
    Unnamed,
    /// One of the events carrying usage, the end or an error.
    Wanted,
    /// Text, thinking and tool deltas, pings: skipped.
    Other,
}

/// What a tap learned from a response.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Seen {
    pub usage: UsageFields,
    pub model: Option<String>,
    /// The answer ended properly (`message_stop`, or a whole JSON body).
    pub complete: bool,
    /// The stream carried an `event: error`.
    pub errored: bool,
}

/// Incremental reader of one response.
#[derive(Debug)]
pub enum Tap {
    Sse(SseTap),
    Json(JsonTap),
}

impl Tap {
    /// Picks the reader from the response's content type.
    pub fn for_content_type(ct: Option<&str>) -> Tap {
        match ct {
            Some(c) if c.trim_start().starts_with("text/event-stream") => {
                Tap::Sse(SseTap::default())
            }
            _ => Tap::Json(JsonTap::default()),
        }
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        match self {
            Tap::Sse(t) => t.feed(chunk),
            Tap::Json(t) => t.feed(chunk),
        }
    }

    /// The result once the body ended (or was cut).
    pub fn finish(&mut self, ended: bool) -> Seen {
        match self {
            Tap::Sse(t) => {
                if ended && !t.line.is_empty() && !t.skipping {
                    // A last line without its newline.
                    let l = std::mem::take(&mut t.line);
                    t.on_line(&l);
                }
                std::mem::take(&mut t.seen)
            }
            Tap::Json(t) => t.finish(ended),
        }
    }

    /// Bytes held right now (for the memory benchmark).
    pub fn held(&self) -> usize {
        match self {
            Tap::Sse(t) => t.line.capacity(),
            Tap::Json(t) => t.buf.capacity(),
        }
    }
}

#[derive(Debug)]
pub struct SseTap {
    line: Vec<u8>,
    /// The rest of the current line is not wanted.
    skipping: bool,
    current: Current,
    seen: Seen,
}

impl Default for SseTap {
    fn default() -> Self {
        SseTap {
            line: Vec::new(),
            skipping: false,
            current: Current::Unnamed,
            seen: Seen::default(),
        }
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let b = b.strip_suffix(b"\r").unwrap_or(b);
    let start = b.iter().position(|c| *c != b' ').unwrap_or(b.len());
    &b[start..]
}

impl SseTap {
    pub fn feed(&mut self, mut rest: &[u8]) {
        while !rest.is_empty() {
            match memchr::memchr(b'\n', rest) {
                Some(i) => {
                    let part = &rest[..i];
                    if self.skipping {
                        self.skipping = false;
                        self.line.clear();
                    } else if self.line.is_empty() {
                        self.on_line(part);
                    } else {
                        let mut l = std::mem::take(&mut self.line);
                        l.extend_from_slice(part);
                        self.on_line(&l);
                        l.clear();
                        self.line = l;
                    }
                    rest = &rest[i + 1..];
                }
                None => {
                    if !self.skipping {
                        let unwanted_data = self.current == Current::Other && {
                            let head = if self.line.is_empty() {
                                rest
                            } else {
                                &self.line
                            };
                            head.starts_with(b"data:")
                        };
                        if unwanted_data || self.line.len() + rest.len() > MAX_LINE {
                            self.skipping = true;
                            self.line.clear();
                        } else {
                            self.line.extend_from_slice(rest);
                        }
                    }
                    break;
                }
            }
        }
    }

    fn on_line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            // The end of one event.
            self.current = Current::Unnamed;
        } else if let Some(name) = line.strip_prefix(b"event:") {
            self.current = match trim(name) {
                b"message_start" | b"message_delta" | b"message_stop" | b"error" => Current::Wanted,
                _ => Current::Other,
            };
        } else if let Some(data) = line.strip_prefix(b"data:") {
            let data = trim(data);
            let wanted = match self.current {
                Current::Wanted => true,
                Current::Other => false,
                // Servers that send no `event:` lines put the type first.
                Current::Unnamed => {
                    data.starts_with(br#"{"type":"message_"#)
                        || data.starts_with(br#"{"type":"error""#)
                }
            };
            if wanted {
                self.on_data(data);
            }
        }
    }

    fn on_data(&mut self, data: &[u8]) {
        let Ok(ev) = serde_json::from_slice::<Event>(data) else {
            return;
        };
        match ev.kind.as_str() {
            "message_start" => {
                if let Some(m) = ev.message {
                    if let Some(u) = m.usage {
                        self.seen.usage.merge(&u);
                    }
                    if m.model.is_some() {
                        self.seen.model = m.model;
                    }
                }
            }
            "message_delta" => {
                if let Some(u) = ev.usage {
                    self.seen.usage.merge(&u);
                }
            }
            "message_stop" => self.seen.complete = true,
            "error" => self.seen.errored = true,
            _ => {}
        }
    }
}

#[derive(Debug, Default)]
pub struct JsonTap {
    buf: Vec<u8>,
    /// The body outgrew `MAX_JSON`: `buf` holds its tail only.
    tail_only: bool,
}

impl JsonTap {
    pub fn feed(&mut self, chunk: &[u8]) {
        let limit = if self.tail_only {
            2 * JSON_TAIL
        } else {
            MAX_JSON
        };
        if self.buf.len() + chunk.len() <= limit {
            self.buf.extend_from_slice(chunk);
            return;
        }
        // Keep only the end, in a buffer of its own size.
        self.tail_only = true;
        let mut tail = Vec::with_capacity(2 * JSON_TAIL);
        if chunk.len() < JSON_TAIL {
            let from_old = JSON_TAIL - chunk.len();
            tail.extend_from_slice(&self.buf[self.buf.len().saturating_sub(from_old)..]);
            tail.extend_from_slice(chunk);
        } else {
            tail.extend_from_slice(&chunk[chunk.len() - JSON_TAIL..]);
        }
        self.buf = tail;
    }

    fn finish(&mut self, ended: bool) -> Seen {
        let buf = std::mem::take(&mut self.buf);
        if !self.tail_only {
            if let Ok(b) = serde_json::from_slice::<Body>(&buf) {
                return Seen {
                    usage: b.usage.unwrap_or_default(),
                    model: b.model,
                    complete: ended,
                    errored: false,
                };
            }
            return Seen::default();
        }
        // Only the end is left: the last `"usage":` object in it.
        let mut seen = Seen::default();
        if let Some(pos) = memchr::memmem::rfind(&buf, br#""usage""#) {
            let after = &buf[pos + 7..];
            if let Some(colon) = memchr::memchr(b':', after) {
                let mut it = serde_json::Deserializer::from_slice(&after[colon + 1..])
                    .into_iter::<UsageFields>();
                if let Some(Ok(u)) = it.next() {
                    seen.usage = u;
                    seen.complete = ended;
                }
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = concat!(
        "event: message_start\n",
        r#"data: {"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"kimi-for-coding","content":[],"usage":{"input_tokens":120,"output_tokens":1,"cache_creation_input_tokens":30,"cache_read_input_tokens":400}}}"#,
        "\n\n",
        "event: ping\ndata: {\"type\":\"ping\"}\n\n",
        "event: content_block_delta\n",
        r#"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\"type\":\"message_delta\",\"usage\":{\"output_tokens\":999}"}}"#,
        "\n\n",
        "event: message_delta\r\n",
        r#"data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":57}}"#,
        "\r\n\r\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );

    fn expected() -> Tokens {
        Tokens {
            input: 120,
            output: 57,
            cache_creation: 30,
            cache_read: 400,
        }
    }

    #[test]
    fn a_stream_split_anywhere_gives_the_same_usage() {
        let bytes = STREAM.as_bytes();
        for cut in 0..bytes.len() {
            let mut tap = Tap::Sse(SseTap::default());
            tap.feed(&bytes[..cut]);
            tap.feed(&bytes[cut..]);
            let seen = tap.finish(true);
            assert_eq!(seen.usage.tokens(), expected(), "cut at {cut}");
            assert!(seen.complete);
            assert_eq!(seen.model.as_deref(), Some("kimi-for-coding"));
        }
        // Byte by byte, too.
        let mut tap = Tap::Sse(SseTap::default());
        for b in bytes {
            tap.feed(std::slice::from_ref(b));
        }
        assert_eq!(tap.finish(true).usage.tokens(), expected());
    }

    #[test]
    fn a_cut_stream_keeps_what_arrived_and_is_not_complete() {
        let cut = STREAM.find("event: message_delta").unwrap_or(0);
        let mut tap = Tap::Sse(SseTap::default());
        tap.feed(&STREAM.as_bytes()[..cut]);
        let seen = tap.finish(false);
        assert!(!seen.complete);
        assert_eq!(seen.usage.tokens().input, 120);
        assert_eq!(seen.usage.tokens().output, 1);
    }

    #[test]
    fn unnamed_events_and_errors_are_read() {
        let s = "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}\n\n";
        let mut tap = Tap::for_content_type(Some("text/event-stream; charset=utf-8"));
        tap.feed(s.as_bytes());
        let seen = tap.finish(true);
        assert!(seen.errored && !seen.complete);
        assert_eq!(seen.usage.tokens().input, 5);
    }

    #[test]
    fn huge_text_deltas_are_not_held() {
        let mut tap = Tap::Sse(SseTap::default());
        tap.feed(b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"");
        for _ in 0..1000 {
            tap.feed(&[b'x'; 4096]);
        }
        assert!(tap.held() < 4096, "held {}", tap.held());
        tap.feed(b"\"}}\n\n");
        tap.feed(STREAM.as_bytes());
        assert_eq!(tap.finish(true).usage.tokens(), expected());
    }

    #[test]
    fn json_bodies_small_and_large() {
        let body = r#"{"id":"m","model":"kimi-for-coding","content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":10,"output_tokens":2,"cache_read_input_tokens":7}}"#;
        let mut tap = Tap::for_content_type(Some("application/json"));
        for c in body.as_bytes().chunks(7) {
            tap.feed(c);
        }
        let seen = tap.finish(true);
        assert_eq!(
            seen.usage.tokens(),
            Tokens {
                input: 10,
                output: 2,
                cache_creation: 0,
                cache_read: 7
            }
        );
        assert_eq!(seen.model.as_deref(), Some("kimi-for-coding"));

        let big = format!(
            r#"{{"content":[{{"type":"text","text":"{}"}}],"usage":{{"input_tokens":3,"output_tokens":4}}}}"#,
            "y".repeat(3 * MAX_JSON)
        );
        let mut tap = Tap::for_content_type(None);
        for c in big.as_bytes().chunks(60_000) {
            tap.feed(c);
            assert!(tap.held() <= 2 * MAX_JSON);
        }
        let seen = tap.finish(true);
        assert_eq!(seen.usage.tokens().input, 3);
        assert_eq!(seen.usage.tokens().output, 4);
    }
}
