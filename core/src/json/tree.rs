//! The two trees the parser builds and the canonical writer reads: the public,
//! owned [`Value`], and [`Borrowed`], whose strings point into the input text
//! unless they had escapes. Canonicalizing text goes through [`Borrowed`], so a
//! document's strings and member names without escapes are never copied into
//! allocations of their own on the way from the input to the output.

use std::borrow::Cow;

use super::value::{Number, Value};

/// A JSON tree as the parser builds it and the writer reads it.
pub(crate) trait Tree<'a>: Sized {
    /// How the tree holds a string or member name.
    type Text: AsRef<str> + Default;

    /// Whether every object's members are known to be in canonical order without
    /// duplicates, as the parser leaves them, so the writer need not check.
    const IN_CANONICAL_ORDER: bool;

    fn text(text: Cow<'a, str>) -> Self::Text;
    /// Whether the tree knows that `text` has nothing JSON must escape.
    fn needs_no_escapes(text: &Self::Text) -> bool;
    fn null() -> Self;
    fn bool(value: bool) -> Self;
    fn number(value: Number) -> Self;
    fn string(text: Self::Text) -> Self;
    fn array(items: Vec<Self>) -> Self;
    fn object(members: Vec<(Self::Text, Self)>) -> Self;
    fn view(&self) -> View<'_, Self, Self::Text>;
}

/// One node of a tree `T` whose strings are held as `S`, seen by the writer.
pub(crate) enum View<'v, T, S> {
    Null,
    Bool(bool),
    Number(Number),
    String(&'v S),
    Array(&'v [T]),
    Object(&'v [(S, T)]),
}

/// A parsed document whose strings borrow from the input text where they can.
pub(crate) enum Borrowed<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Borrowed<'a>>),
    Object(Vec<(Cow<'a, str>, Borrowed<'a>)>),
}

impl<'a> Tree<'a> for Borrowed<'a> {
    type Text = Cow<'a, str>;
    // Only the parser builds a `Borrowed`.
    const IN_CANONICAL_ORDER: bool = true;

    fn text(text: Cow<'a, str>) -> Cow<'a, str> {
        text
    }
    // The parser borrows exactly the strings that had no escapes in the input,
    // where a quote, a backslash or a control character can only appear escaped.
    fn needs_no_escapes(text: &Cow<'a, str>) -> bool {
        matches!(text, Cow::Borrowed(_))
    }
    fn null() -> Self {
        Borrowed::Null
    }
    fn bool(value: bool) -> Self {
        Borrowed::Bool(value)
    }
    fn number(value: Number) -> Self {
        Borrowed::Number(value)
    }
    fn string(text: Cow<'a, str>) -> Self {
        Borrowed::String(text)
    }
    fn array(items: Vec<Self>) -> Self {
        Borrowed::Array(items)
    }
    fn object(members: Vec<(Cow<'a, str>, Self)>) -> Self {
        Borrowed::Object(members)
    }
    fn view(&self) -> View<'_, Self, Self::Text> {
        match self {
            Borrowed::Null => View::Null,
            Borrowed::Bool(b) => View::Bool(*b),
            Borrowed::Number(n) => View::Number(*n),
            Borrowed::String(s) => View::String(s),
            Borrowed::Array(items) => View::Array(items),
            Borrowed::Object(members) => View::Object(members),
        }
    }
}

impl<'a> Tree<'a> for Value {
    type Text = String;
    // A `Value` built in memory may have its members in any order.
    const IN_CANONICAL_ORDER: bool = false;

    fn text(text: Cow<'a, str>) -> String {
        text.into_owned()
    }
    fn needs_no_escapes(_: &String) -> bool {
        false
    }
    fn null() -> Self {
        Value::Null
    }
    fn bool(value: bool) -> Self {
        Value::Bool(value)
    }
    fn number(value: Number) -> Self {
        Value::Number(value)
    }
    fn string(text: String) -> Self {
        Value::String(text)
    }
    fn array(items: Vec<Self>) -> Self {
        Value::Array(items)
    }
    fn object(members: Vec<(String, Self)>) -> Self {
        Value::Object(members)
    }
    fn view(&self) -> View<'_, Self, Self::Text> {
        match self {
            Value::Null => View::Null,
            Value::Bool(b) => View::Bool(*b),
            Value::Number(n) => View::Number(*n),
            Value::String(s) => View::String(s),
            Value::Array(items) => View::Array(items),
            Value::Object(members) => View::Object(members),
        }
    }
}
