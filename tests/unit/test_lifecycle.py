"""The transition table, asserted for every (status, action) pair."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from voucherd.domain import errors
from voucherd.domain.lifecycle import TRANSITIONS, Action, Phase, VoucherStatus, phase, transition

S, A = VoucherStatus, Action

# The whole table written out once more by hand: a change to the product's lifecycle must be a
# deliberate change in two places.
EXPECTED: dict[tuple[VoucherStatus, Action], VoucherStatus] = {
    (S.INACTIVE, A.ACTIVATE): S.ACTIVE,
    (S.INACTIVE, A.UPDATE): S.INACTIVE,
    (S.INACTIVE, A.CLAIM): S.INACTIVE,
    (S.INACTIVE, A.UNCLAIM): S.INACTIVE,
    (S.INACTIVE, A.RECHARGE): S.INACTIVE,
    (S.INACTIVE, A.UNLOCK): S.INACTIVE,
    (S.INACTIVE, A.EXPIRE): S.EXPIRED,
    (S.INACTIVE, A.VOID): S.VOID,
    (S.INACTIVE, A.DELETE): S.DELETED,
    (S.INACTIVE, A.RELEASE): S.INACTIVE,
    (S.ACTIVE, A.UPDATE): S.ACTIVE,
    (S.ACTIVE, A.CLAIM): S.ACTIVE,
    (S.ACTIVE, A.UNCLAIM): S.ACTIVE,
    (S.ACTIVE, A.LOCK): S.ACTIVE,
    (S.ACTIVE, A.UNLOCK): S.ACTIVE,
    (S.ACTIVE, A.RESERVE): S.ACTIVE,
    (S.ACTIVE, A.RELEASE): S.ACTIVE,
    (S.ACTIVE, A.CHARGE): S.ACTIVE,
    (S.ACTIVE, A.CHARGE_FINAL): S.REDEEMED,
    (S.ACTIVE, A.REFUND): S.ACTIVE,
    (S.ACTIVE, A.RECHARGE): S.ACTIVE,
    (S.ACTIVE, A.DEACTIVATE): S.INACTIVE,
    (S.ACTIVE, A.END): S.EXPIRED,
    (S.ACTIVE, A.EXPIRE): S.EXPIRED,
    (S.ACTIVE, A.VOID): S.VOID,
    (S.ACTIVE, A.DELETE): S.DELETED,
    (S.REDEEMED, A.REFUND): S.ACTIVE,
    (S.REDEEMED, A.RECHARGE): S.ACTIVE,
    (S.REDEEMED, A.UPDATE): S.REDEEMED,
    (S.REDEEMED, A.REOPEN): S.ACTIVE,
    (S.REDEEMED, A.UNLOCK): S.REDEEMED,
    (S.REDEEMED, A.RELEASE): S.REDEEMED,
    (S.REDEEMED, A.DELETE): S.DELETED,
    (S.EXPIRED, A.REFUND): S.EXPIRED,
    (S.EXPIRED, A.UPDATE): S.EXPIRED,
    (S.EXPIRED, A.UNLOCK): S.EXPIRED,
    (S.EXPIRED, A.RELEASE): S.EXPIRED,
    (S.EXPIRED, A.VOID): S.VOID,
    (S.EXPIRED, A.DELETE): S.DELETED,
    (S.VOID, A.REINSTATE): S.ACTIVE,
    (S.VOID, A.REINSTATE_USED_UP): S.REDEEMED,
    (S.VOID, A.UPDATE): S.VOID,
    (S.VOID, A.RELEASE): S.VOID,
    (S.VOID, A.DELETE): S.DELETED,
}

REFUSED_AS: dict[VoucherStatus, type[errors.InvalidTransition]] = {
    S.INACTIVE: errors.VoucherInactive,
    S.REDEEMED: errors.VoucherRedeemed,
    S.EXPIRED: errors.VoucherExpired,
    S.VOID: errors.VoucherVoided,
    S.DELETED: errors.VoucherDeleted,
    S.ACTIVE: errors.InvalidTransition,
}


def test_table_is_exactly_the_documented_one() -> None:
    assert dict(TRANSITIONS) == EXPECTED


@pytest.mark.parametrize("status", list(VoucherStatus))
@pytest.mark.parametrize("action", list(Action))
def test_every_status_action_pair(status: VoucherStatus, action: Action) -> None:
    if (status, action) in EXPECTED:
        assert transition(status, action) is EXPECTED[(status, action)]
        return
    with pytest.raises(errors.InvalidTransition) as caught:
        transition(status, action)
    reinstating = action in (A.REINSTATE, A.REINSTATE_USED_UP)
    expected = errors.VoucherNotVoided if reinstating else REFUSED_AS[status]
    if status is S.ACTIVE and action is A.ACTIVATE:
        expected = errors.VoucherAlreadyActive
    assert type(caught.value) is expected
    assert caught.value.status == status and caught.value.action == action
    assert caught.value.code  # a stable code every face can map


def test_deleted_is_terminal() -> None:
    assert not [a for a in Action if (S.DELETED, a) in TRANSITIONS]


NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("status", "starts", "ends", "expected"),
    [
        (S.ACTIVE, None, None, Phase.ONGOING),
        (S.ACTIVE, NOW + HOUR, None, Phase.UPCOMING),
        (S.ACTIVE, NOW - HOUR, NOW + HOUR, Phase.ONGOING),
        (S.ACTIVE, NOW - 2 * HOUR, NOW, Phase.EXPIRED),  # the end instant is already expired
        (S.ACTIVE, None, NOW - HOUR, Phase.EXPIRED),
        (S.INACTIVE, None, NOW + HOUR, Phase.INACTIVE),
        (S.INACTIVE, None, NOW - HOUR, Phase.EXPIRED),
        (S.REDEEMED, None, None, Phase.REDEEMED),
        (S.VOID, None, None, Phase.VOID),
        (S.EXPIRED, None, NOW + HOUR, Phase.EXPIRED),
        (S.DELETED, None, None, Phase.DELETED),
    ],
)
def test_phase_combines_status_and_window(
    status: VoucherStatus, starts: datetime | None, ends: datetime | None, expected: Phase
) -> None:
    assert phase(status, starts, ends, NOW) is expected
