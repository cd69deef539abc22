//! The console (placeholder while it is written).
use crate::service::{Principal, Services};
pub struct Options {
    pub readonly: bool,
}
pub async fn run(_s: Services, _p: Principal, _o: Options) -> std::io::Result<()> {
    Ok(())
}
