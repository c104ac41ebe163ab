//! One rendering of each `messageStream` event for all the followers that receive it.
//!
//! The tabs following one answer receive the same events: the same text from the same
//! offset. Run in the engine, a subscription executes its selection again for each follower
//! and each event. Here the follower runs beside the engine, and the engine renders an event
//! once for every follower that runs the same document with the same variables as the same
//! caller (what Hasura's multiplexed subscriptions and Apollo Router's subscription
//! deduplication do): the others send that rendering. The engine still does all the GraphQL:
//! it checks the rights and starts the follower, and the subscription stays open in it to
//! render every event that was not rendered just before (the resolver hands the follower
//! over and returns the engine the events to render instead). Other operations run in the
//! engine as before.

use std::{
    collections::{HashMap, VecDeque},
    future::poll_fn,
    sync::{Arc, Mutex, Weak},
    task::Poll,
    time::{Duration, Instant},
};

use async_graphql::{
    Request, Response, Schema,
    futures_util::{
        Stream, StreamExt,
        stream::{self, BoxStream},
    },
    parser::types::{DocumentOperations, OperationType, Selection},
};
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{
    Mutation, Query, RequestContext,
    context::request_context,
    error_codes::coded,
    rounds::{Counting, Rounds},
    subscription::Subscription,
};
use crate::{
    error::AppResult,
    services::{auth::Caller, generation::follow::StreamEvent},
};

/// How long a rendering is reused: the followers at one offset take their events within
/// milliseconds of each other.
const REUSE_WITHIN: Duration = Duration::from_secs(1);
/// The renderings a group keeps (the latest ones).
const KEPT: usize = 16;

type Engine = Schema<Query, Mutation, Subscription>;

/// One result of an operation, ready to send: a response, or an event rendered for every
/// follower that receives it.
pub enum Outcome {
    /// A result executed for this operation alone.
    Response(Box<Response>),
    /// A `messageStream` event as rendered once for its followers.
    Shared(Arc<Rendered>),
}

impl From<Response> for Outcome {
    fn from(response: Response) -> Self {
        Outcome::Response(Box::new(response))
    }
}

impl Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Outcome::Response(response) => response.serialize(serializer),
            Outcome::Shared(rendered) => rendered.json.serialize(serializer),
        }
    }
}

/// A `messageStream` event's response, serialised.
pub struct Rendered {
    /// The response, as JSON.
    pub json: Box<RawValue>,
    /// The event's `seq`.
    pub seq: i32,
}

/// Hands the follower over from the resolver (which checked the rights and started it) to
/// [`follow`]. The resolver returns the engine, instead of the follower's events, the stream
/// of the events [`follow`] asks it to render.
#[derive(Clone, Default)]
pub struct HandOver(Arc<Mutex<Option<Handed>>>);

/// A follower's events.
type Events = BoxStream<'static, AppResult<StreamEvent>>;

/// What the resolver hands over: the follower, and where to send the events to render.
struct Handed {
    message_id: Uuid,
    events: Events,
    render: mpsc::Sender<AppResult<StreamEvent>>,
}

impl HandOver {
    /// Takes the follower `events` of message `message_id`; returns the events to render.
    pub fn put(&self, message_id: Uuid, events: Events) -> impl Stream<Item = AppResult<StreamEvent>> + Send + use<> {
        let (render, to_render) = mpsc::channel(1);
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(Handed {
            message_id,
            events,
            render,
        });
        stream::unfold(to_render, |mut to_render| async move {
            let event = to_render.recv().await?;
            Some((event, to_render))
        })
    }

    fn is_put(&self) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    fn take(&self) -> Option<Handed> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// Whether `request` (admitted, its document parsed) is a subscription to `messageStream`
/// alone, as a plain field: the ones whose events are rendered once for their followers.
pub fn shareable(request: &mut Request) -> bool {
    let name = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else {
        return false;
    };
    let operation = match (&document.operations, name) {
        (DocumentOperations::Single(operation), _) => operation,
        (DocumentOperations::Multiple(operations), Some(name)) => match operations.get(name.as_str()) {
            Some(operation) => operation,
            None => return false,
        },
        (DocumentOperations::Multiple(_), None) => return false,
    };
    let operation = &operation.node;
    let [item] = operation.selection_set.node.items.as_slice() else {
        return false;
    };
    operation.ty == OperationType::Subscription
        && operation.directives.is_empty()
        && matches!(&item.node, Selection::Field(field)
            if field.node.name.node == "messageStream" && field.node.directives.is_empty())
}

/// What the followers sharing renderings have in common: the document, the variables and
/// the caller.
#[derive(Clone, PartialEq, Eq, Hash)]
struct GroupKey {
    message_id: Uuid,
    caller: Option<Credentials>,
    query: String,
    operation_name: Option<String>,
    variables: String,
}

/// Who a caller is, down to the credentials they use (what they may see depends on them).
#[derive(Clone, PartialEq, Eq, Hash)]
struct Credentials {
    user_id: Uuid,
    session_id: Option<Uuid>,
    api_token_id: Option<Uuid>,
    narrowed_to: Option<Uuid>,
}

impl From<&Caller> for Credentials {
    fn from(caller: &Caller) -> Self {
        Credentials {
            user_id: caller.user.id,
            session_id: caller.session_id,
            api_token_id: caller.api_token_id,
            narrowed_to: caller.narrowed_to,
        }
    }
}

/// The followers of one message with one [`GroupKey`], and their latest renderings.
struct Group {
    key: GroupKey,
    groups: Weak<Mutex<HashMap<GroupKey, Weak<Group>>>>,
    rendered: Mutex<VecDeque<(Instant, StreamEvent, Arc<Rendered>)>>,
}

impl Group {
    /// The rendering of an event equal to `event`, made less than [`REUSE_WITHIN`] ago.
    fn find(&self, event: &StreamEvent) -> Option<Arc<Rendered>> {
        let rendered = self.rendered.lock().unwrap_or_else(|e| e.into_inner());
        rendered
            .iter()
            .rev()
            .find(|(at, seen, _)| seen == event && at.elapsed() < REUSE_WITHIN)
            .map(|(_, _, rendering)| rendering.clone())
    }

    fn keep(&self, event: StreamEvent, rendering: Arc<Rendered>) {
        let mut rendered = self.rendered.lock().unwrap_or_else(|e| e.into_inner());
        if rendered.len() == KEPT {
            rendered.pop_front();
        }
        rendered.push_back((Instant::now(), event, rendering));
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let Some(groups) = self.groups.upgrade() else {
            return;
        };
        let mut groups = groups.lock().unwrap_or_else(|e| e.into_inner());
        // Another group may have taken the key since this one's last follower left.
        if groups.get(&self.key).is_some_and(|group| group.strong_count() == 0) {
            groups.remove(&self.key);
        }
    }
}

/// The groups of followers of this process, by key.
#[derive(Clone, Default)]
pub struct Groups(Arc<Mutex<HashMap<GroupKey, Weak<Group>>>>);

impl Groups {
    fn join(&self, key: GroupKey) -> Arc<Group> {
        let mut groups = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(group) = groups.get(&key).and_then(Weak::upgrade) {
            return group;
        }
        let group = Arc::new(Group {
            key: key.clone(),
            groups: Arc::downgrade(&self.0),
            rendered: Mutex::default(),
        });
        groups.insert(key, Arc::downgrade(&group));
        group
    }
}

/// Runs `request` (a [`shareable`] subscription) with its follower beside the engine, and
/// its events rendered once for every follower in its group.
pub fn follow(engine: Engine, request: Request, groups: Groups) -> BoxStream<'static, Outcome> {
    let caller = request_context(&request.data)
        .and_then(RequestContext::caller)
        .map(Credentials::from);
    let counting = Counting::of(&request.data);
    let (query, operation_name) = (request.query.clone(), request.operation_name.clone());
    let variables = serde_json::to_string(&request.variables).unwrap_or_default();
    let hand_over = HandOver::default();
    let mut rendered = counting.rounds(engine.execute_stream(request.data(hand_over.clone())));
    stream::once(async move {
        // The engine checks the rights and starts the follower, which the resolver hands over:
        // the subscription then waits for events to render.
        let refused = poll_fn(|cx| match rendered.poll_next_unpin(cx) {
            Poll::Pending if hand_over.is_put() => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
            Poll::Ready(response) => Poll::Ready(Some(response)),
        })
        .await;
        let handed = match (refused, hand_over.take()) {
            (None, Some(handed)) => handed,
            (Some(None), _) => return stream::empty().boxed(),
            // It did not start (an error such as NOT_FOUND): its results as they are.
            (refused, _) => {
                let first = refused.flatten();
                return stream::iter(first)
                    .chain(rendered)
                    .map(|r| Outcome::from(coded(r)))
                    .boxed();
            }
        };
        let key = GroupKey {
            message_id: handed.message_id,
            caller,
            query,
            operation_name,
            variables,
        };
        let renderer = Renderer {
            group: groups.join(key),
            render: handed.render,
            rendered,
        };
        stream::unfold((handed.events, renderer), |(mut events, mut renderer)| async move {
            let outcome = renderer.outcome(events.next().await?).await?;
            Some((outcome, (events, renderer)))
        })
        .boxed()
    })
    .flatten()
    .boxed()
}

/// Renders the events of one follower with its subscription in the engine, or finds them
/// rendered in its group.
struct Renderer {
    group: Arc<Group>,
    /// Where the subscription takes the events to render.
    render: mpsc::Sender<AppResult<StreamEvent>>,
    /// The subscription's results.
    rendered: Rounds<BoxStream<'static, Response>>,
}

impl Renderer {
    /// `event` as the follower sends it: the group's rendering of it when there is one, else
    /// the engine's (kept for the group when it is a plain event; errors are never shared).
    /// None once the subscription ended.
    async fn outcome(&mut self, event: AppResult<StreamEvent>) -> Option<Outcome> {
        let seen = match &event {
            Ok(event) => match self.group.find(event) {
                Some(rendering) => return Some(Outcome::Shared(rendering)),
                None => Some(event.clone()),
            },
            Err(_) => None,
        };
        self.render.send(event).await.ok()?;
        let response = coded(self.rendered.next().await?);
        let Some(event) = seen.filter(|_| response.errors.is_empty()) else {
            return Some(Outcome::from(response));
        };
        let Ok(json) = serde_json::value::to_raw_value(&response) else {
            return Some(Outcome::from(response));
        };
        let rendering = Arc::new(Rendered {
            json,
            seq: i32::try_from(event.seq).unwrap_or(i32::MAX),
        });
        self.group.keep(event, rendering.clone());
        Some(Outcome::Shared(rendering))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::enums::MessageStatus;

    fn shared(query: &str, operation_name: Option<&str>) -> bool {
        let mut request = Request::new(query);
        request.operation_name = operation_name.map(str::to_owned);
        shareable(&mut request)
    }

    #[test]
    fn only_a_subscription_to_message_stream_alone_shares_its_renderings() {
        let two = "subscription A { messageStream(messageId: \"x\") { seq } } \
                   subscription B { chatEvents(chatId: \"y\") { kind } }";
        assert!(shared(
            "subscription($id: ID!) { messageStream(messageId: $id) { seq delta } }",
            None
        ));
        assert!(shared(
            "subscription { live: messageStream(messageId: \"x\") { ...F } } \
             fragment F on MessageStreamEvent { seq }",
            None
        ));
        assert!(shared(two, Some("A")));
        assert!(!shared(two, Some("B")));
        assert!(!shared(two, None));
        assert!(!shared("subscription { chatEvents(chatId: \"y\") { kind } }", None));
        assert!(!shared(
            "subscription($on: Boolean!) { messageStream(messageId: \"x\") @include(if: $on) { seq } }",
            None
        ));
        assert!(!shared("query { messageStream(messageId: \"x\") { seq } }", None));
        assert!(!shared("subscription { messageStream(", None));
    }

    fn key(user: Option<Uuid>, query: &str) -> GroupKey {
        GroupKey {
            message_id: Uuid::nil(),
            caller: user.map(|user_id| Credentials {
                user_id,
                session_id: None,
                api_token_id: None,
                narrowed_to: None,
            }),
            query: query.to_owned(),
            operation_name: None,
            variables: "{}".to_owned(),
        }
    }

    fn event(seq: usize, delta: &str) -> StreamEvent {
        StreamEvent {
            seq,
            delta: delta.to_owned(),
            status: MessageStatus::Streaming,
            tool_calls: Vec::new(),
            message: None,
        }
    }

    fn rendering(seq: i32) -> Arc<Rendered> {
        let json = RawValue::from_string(format!("{{\"seq\":{seq}}}")).expect("json");
        Arc::new(Rendered { json, seq })
    }

    #[test]
    fn followers_share_a_group_only_with_the_same_caller_and_document_while_one_follows() {
        let groups = Groups::default();
        let alice = Some(Uuid::new_v4());
        let first = groups.join(key(alice, "subscription { messageStream { seq } }"));
        let second = groups.join(key(alice, "subscription { messageStream { seq } }"));
        assert!(Arc::ptr_eq(&first, &second));
        let other_caller = groups.join(key(Some(Uuid::new_v4()), "subscription { messageStream { seq } }"));
        let anonymous = groups.join(key(None, "subscription { messageStream { seq } }"));
        let other_document = groups.join(key(alice, "subscription { messageStream { delta } }"));
        for other in [&other_caller, &anonymous, &other_document] {
            assert!(!Arc::ptr_eq(&first, other));
        }
        assert_eq!(groups.0.lock().expect("groups").len(), 4);
        drop((first, other_caller, anonymous, other_document));
        assert_eq!(
            groups.0.lock().expect("groups").len(),
            1,
            "a group stays while one follows"
        );
        drop(second);
        assert!(groups.0.lock().expect("groups").is_empty());
    }

    #[test]
    fn a_group_finds_the_rendering_of_an_equal_event_among_its_latest() {
        let group = Groups::default().join(key(None, "q"));
        group.keep(event(5, "hello"), rendering(5));
        assert_eq!(group.find(&event(5, "hello")).map(|r| r.seq), Some(5));
        assert!(group.find(&event(5, "jello")).is_none(), "same offset, other text");
        assert!(group.find(&event(6, "hello!")).is_none());
        let mut last = event(5, "hello");
        last.status = MessageStatus::Complete;
        assert!(group.find(&last).is_none(), "same text, other status");
        for seq in 6..6 + KEPT {
            group.keep(event(seq, "x"), rendering(i32::try_from(seq).expect("seq")));
        }
        assert!(group.find(&event(5, "hello")).is_none(), "only the latest are kept");
        assert!(group.find(&event(6 + KEPT - 1, "x")).is_some());
    }
}
