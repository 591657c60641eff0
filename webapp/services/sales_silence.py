"""Sales silence: a router that usually sells, online, with no sale for its portal's ``silence_hours`` → an alert.

The outage that looks like silence, not like a failure spike (a broken callback path, an expired Daraja credential,
a portal nobody can reach): the sweep checks every selling router and raises one ``sales_silence`` alert, resolved
by the next sale.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Alert, PortalSite, Router, Sale
from webapp.timeutil import utcnow

KIND = "sales_silence"
#: "Usually sells": at least this many sales in the week before the silent window.
USUAL_SALES = 3


def check(now: datetime | None = None) -> tuple[int, int]:
    """Raise or resolve sales-silence alerts for every selling router; return (raised, resolved)."""
    moment = now or utcnow()
    raised = resolved = 0
    rows = db.session.execute(select(PortalSite, Router).join(Router, Router.id == PortalSite.router_id)
                              .where(PortalSite.enabled.is_(True), PortalSite.silence_hours > 0))
    for site, router in list(rows):
        quiet_since = moment - timedelta(hours=site.silence_hours)
        last_sale = db.session.scalar(select(func.max(Sale.sold_at)).where(Sale.router_id == router.id))
        usual = db.session.scalar(select(func.count(Sale.id)).where(
            Sale.router_id == router.id, Sale.sold_at >= quiet_since - timedelta(days=7),
            Sale.sold_at < quiet_since)) or 0
        open_alert = db.session.scalar(select(Alert).where(Alert.router_id == router.id, Alert.kind == KIND,
                                                           Alert.state.in_(("active", "acknowledged"))))
        silent = router.is_online and usual >= USUAL_SALES and (last_sale is None or last_sale < quiet_since)
        if silent and open_alert is None:
            db.session.add(Alert(user_id=router.user_id, router_id=router.id, kind=KIND, subject="",
                                 state="active", severity="warning", started_at=moment,
                                 value=float(site.silence_hours),
                                 message=f"No sales on {router.name} for {site.silence_hours} hours while it is "
                                 f"online (it sold {usual} in the week before): check the portal and M-Pesa"))
            site.silence_alerted_at = moment
            raised += 1
        elif open_alert is not None and last_sale is not None and last_sale >= open_alert.started_at:
            open_alert.state, open_alert.resolved_at = "resolved", moment
            resolved += 1
    db.session.commit()
    return raised, resolved
