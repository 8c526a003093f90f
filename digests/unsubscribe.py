"""What the unsubscribe page writes: the briefing email stopped, single radars left out, or
the email wanted again for the radars the reader ticked."""

from __future__ import annotations

from collections.abc import Collection

from django.db import transaction

from accounts.models import Profile
from accounts.services import profile_update
from digests.models import Briefing, Delivery
from radar.models import Subscription

FREQUENCY_OF_CADENCE: dict[str, str] = {
    Briefing.Cadence.DAY: Profile.Frequency.DAILY,
    Briefing.Cadence.WEEK: Profile.Frequency.WEEKLY,
}


def email_stop(*, profile: Profile) -> None:
    """Stop the reader's briefing email (every radar in it)."""
    if profile.digest_frequency != Profile.Frequency.OFF:
        profile_update(profile=profile, digest_frequency=Profile.Frequency.OFF)


def email_radar_stop(*, user_id: int, radar_id: int) -> None:
    """Leave one radar out of the reader's briefing email."""
    Subscription.objects.filter(user_id=user_id, radar_id=radar_id).update(
        frequency=Subscription.Frequency.OFF
    )


def email_radars_choose(*, profile: Profile, radar_ids: Collection[int]) -> None:
    """Make the reader's briefing email cover only these radars; a reader who had stopped it
    gets it again at the frequency they had (daily or weekly), if any radar is ticked."""
    with transaction.atomic():
        if radar_ids and profile.digest_frequency == Profile.Frequency.OFF:
            # This turns every followed radar on (radar.services.subscriptions_follow_profile);
            # the choice below is applied to the rows as they are now.
            profile_update(profile=profile, digest_frequency=frequency_before_stop(profile))
        subs = Subscription.objects.filter(user_id=profile.user_id)
        on = profile.digest_frequency
        if on == Profile.Frequency.OFF:
            # Nothing ticked with the email stopped: every radar stays off.
            on = Subscription.Frequency.OFF
        subs.exclude(radar_id__in=radar_ids).update(frequency=Subscription.Frequency.OFF)
        subs.filter(radar_id__in=radar_ids, frequency=Subscription.Frequency.OFF).update(
            frequency=on
        )


def frequency_before_stop(profile: Profile) -> str:
    """The frequency of the reader's last briefing email (the link they followed came in
    one): daily when there was none."""
    cadence = (
        Delivery.objects.filter(user_id=profile.user_id, is_test=False)
        .order_by("-period_start", "-created_at")
        .values_list("cadence", flat=True)
        .first()
    )
    return FREQUENCY_OF_CADENCE.get(cadence or "", Profile.Frequency.DAILY)
