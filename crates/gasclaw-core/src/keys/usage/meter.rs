//! The proxy's meter: wraps an answer's body so each chunk is shown to the
//! usage [`Tap`] on its way to the client (never held, never changed), and
//! counts the request exactly once when the body ends, fails, or is
//! dropped because the client went away.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;

use super::tap::{Seen, Tap};
use super::{Recorder, RequestOutcome, Tokens, UsageRecord};
use crate::keys::PoolKind;

/// Who a request is counted for; turned into one record by `finish`, or
/// counted as cancelled if dropped first (the client left while the
/// proxy waited for the upstream's answer).
pub struct Meter {
    recorder: Option<Recorder>,
    slot: String,
    pool: PoolKind,
    /// The key of the attempt in flight.
    key: String,
}

impl Meter {
    pub fn new(recorder: Recorder, slot: &str, pool: PoolKind) -> Meter {
        Meter {
            recorder: Some(recorder),
            slot: slot.to_string(),
            pool,
            key: String::new(),
        }
    }

    /// The request is now being tried with this key.
    pub fn attempt(&mut self, key: &str) {
        key.clone_into(&mut self.key);
    }

    /// Counts the request: `key` is the hint of the key that answered
    /// (empty if none did), `model` the one named in the answer or asked.
    pub fn finish(mut self, key: &str, model: &str, outcome: RequestOutcome, tokens: Tokens) {
        if let Some(r) = self.recorder.take() {
            r.record(UsageRecord {
                at: r.now(),
                slot: std::mem::take(&mut self.slot),
                pool: self.pool,
                key: key.to_string(),
                model: model.to_string(),
                outcome,
                tokens,
            });
        }
    }

    /// Wraps a success's body.
    pub fn wrap<S, E>(self, body: S, content_type: Option<&str>, key: &str) -> Metered<S>
    where
        S: Stream<Item = Result<Bytes, E>>,
    {
        Metered {
            inner: Box::pin(body),
            tap: Tap::for_content_type(content_type),
            meter: Some((self, key.to_string())),
        }
    }
}

/// A body being metered.
pub struct Metered<S> {
    inner: Pin<Box<S>>,
    tap: Tap,
    meter: Option<(Meter, String)>,
}

impl<S> Metered<S> {
    fn done(&mut self, ended: bool, failed: bool) {
        if let Some((m, key)) = self.meter.take() {
            let seen: Seen = self.tap.finish(ended);
            // A stream whose `message_stop` went out is complete even if
            // the client hung up before the body's formal end.
            let outcome = if seen.complete && !seen.errored && !failed {
                RequestOutcome::Ok
            } else if !ended && !failed {
                RequestOutcome::Cancelled
            } else {
                RequestOutcome::Failed
            };
            let model = seen.model.unwrap_or_default();
            m.finish(&key, &model, outcome, seen.usage.tokens());
        }
    }
}

impl<S, E> Stream for Metered<S>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    type Item = Result<Bytes, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        match this.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                if this.meter.is_some() {
                    this.tap.feed(&chunk);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.done(false, true);
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                this.done(true, false);
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        if self.recorder.is_some() {
            let key = std::mem::take(&mut self.key);
            let m = Meter {
                recorder: self.recorder.take(),
                slot: std::mem::take(&mut self.slot),
                pool: self.pool,
                key: String::new(),
            };
            m.finish(&key, "", RequestOutcome::Cancelled, Tokens::default());
        }
    }
}

impl<S> Drop for Metered<S> {
    fn drop(&mut self) {
        // Dropped before the end: the client went away.
        self.done(false, false);
    }
}
