//! One module per subcommand.

pub(crate) mod compile;
pub(crate) mod demo;
pub(crate) mod evm;
pub(crate) mod hash;
pub(crate) mod ops;
pub(crate) mod prove;
pub(crate) mod run;
pub(crate) mod serve;
pub(crate) mod settings;
pub(crate) mod setup;
pub(crate) mod split;
pub(crate) mod srs;
pub(crate) mod table;
pub(crate) mod verify;
pub(crate) mod witness;
