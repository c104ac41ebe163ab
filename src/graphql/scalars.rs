//! Scalars beyond GraphQL's own: `BigInt` for 64-bit counts (token sums, bytes). Exact
//! decimal amounts (costs) use async-graphql's `BigDecimal`, also sent as a string.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};

/// A whole number that may exceed 32 bits (token counts, bytes), sent as a string of decimal
/// digits so that JavaScript clients keep every digit (as GitHub's `BigInt` does).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BigInt(pub i64);

/// A whole number that may exceed 32 bits, encoded as a string of decimal digits.
#[Scalar(name = "BigInt")]
impl ScalarType for BigInt {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => text
                .parse()
                .map(BigInt)
                .map_err(|_| InputValueError::expected_type(value)),
            Value::Number(number) => number
                .as_i64()
                .map(BigInt)
                .ok_or_else(|| InputValueError::expected_type(value)),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

impl From<i64> for BigInt {
    fn from(value: i64) -> Self {
        BigInt(value)
    }
}
