//! What a pull keeps of the messages it reads (remoting.md §9.3): a TAG subscription by the tag
//! hash in each consume-queue unit, before the message is read; a SQL92 subscription by its
//! expression over the properties of each stored message, so every unit is read (the tag-hash
//! prefilter does not apply, and Java's optional bloom-filter bitmap is not kept).

use crate::message::Properties;
use crate::message::filter::Sql92;
use crate::message::stored::stored_properties;

use super::TagFilter;

/// A pull's filter, borrowed from the subscription it came from.
#[derive(Debug, Clone, Copy)]
pub enum MessageFilter<'a> {
    Tags(&'a TagFilter),
    Sql92(&'a Sql92),
}

impl<'a> From<&'a TagFilter> for MessageFilter<'a> {
    fn from(tags: &'a TagFilter) -> Self {
        MessageFilter::Tags(tags)
    }
}

impl MessageFilter<'_> {
    /// Whether the message of a consume-queue unit with this tags code is worth reading.
    pub fn passes_unit(&self, tags_code: i64) -> bool {
        match self {
            MessageFilter::Tags(tags) => tags.matches(tags_code),
            MessageFilter::Sql92(_) => true,
        }
    }

    /// Whether a stored message read for the pull is delivered. A message whose properties do
    /// not decode is judged with none, as Java judges it.
    pub fn passes_message(&self, stored: &[u8]) -> bool {
        match self {
            MessageFilter::Tags(_) => true,
            MessageFilter::Sql92(sql) => {
                let properties = stored_properties(stored).unwrap_or_else(|_| Properties::new());
                sql.matches(&properties)
            }
        }
    }
}
