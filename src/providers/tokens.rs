//! Counting tokens with OpenAI's tokenizers (`tiktoken-rs`): the model's own encoding when it
//! is an OpenAI model, `o200k_base` otherwise (close enough to trim a prompt and to account
//! for a provider that reports no usage).

use tiktoken_rs::CoreBPE;

use super::PromptMessage;

/// Tokens every message of a chat prompt costs besides its text (role and separators, as
/// OpenAI counts them).
pub const PER_MESSAGE: i64 = 4;

fn encoding(model: &str) -> &'static CoreBPE {
    tiktoken_rs::bpe_for_model(model).unwrap_or_else(|_| tiktoken_rs::o200k_base_singleton())
}

/// Tokens of `text` for `model`.
pub fn count(model: &str, text: &str) -> i64 {
    i64::try_from(encoding(model).encode_ordinary(text).len()).unwrap_or(i64::MAX)
}

/// Tokens of a prompt message for `model`.
pub fn count_message(model: &str, message: &PromptMessage) -> i64 {
    message
        .parts
        .iter()
        .chain(message.tool_calls.iter().flat_map(|c| [&c.name, &c.arguments]))
        .fold(count(model, &message.content), |sum, part| {
            sum.saturating_add(count(model, part))
        })
        .saturating_add(PER_MESSAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_counted_by_the_tokenizer_not_by_characters() {
        assert_eq!(count("gpt-4o", ""), 0);
        assert_eq!(count("gpt-4o", "hello"), 1);
        // Ten characters of a common word repeated are fewer tokens than characters.
        let text = "the the the the the";
        assert!(count("gpt-4o", text) < text.len() as i64);
        // Unknown models use o200k_base.
        assert_eq!(count("llama3", text), count("gpt-4o", text));
    }
}
