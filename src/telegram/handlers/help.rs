//! `/start`, `/help`: what this bot is and the commands this person may use.

use crate::telegram::speaker::{Reply, Speaker};
use crate::telegram::{Ctx, render};

pub fn handle(ctx: &Ctx, who: &Speaker) -> Reply {
    Reply::text(render::help(
        who.tr(&ctx.locales),
        who.role,
        &ctx.catalogue.for_role(who.role),
    ))
}
