//! Scalars beyond GraphQL's own, both sent as strings so JavaScript clients lose nothing:
//! `BigInt` for 64-bit counts (token sums, bytes) and `Decimal` for exact amounts (costs).

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

/// An exact decimal number (money), sent as a string such as `"0.012340"` so that no client
/// rounds it through a binary float.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decimal(pub bigdecimal::BigDecimal);

/// An exact decimal number (such as an amount in US dollars), encoded as a string.
#[Scalar(name = "Decimal")]
impl ScalarType for Decimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => text
                .parse()
                .map(Decimal)
                .map_err(|_| InputValueError::expected_type(value)),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}
