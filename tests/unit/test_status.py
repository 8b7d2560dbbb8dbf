import pytest

from saleor_optty.optty import PaymentStatus, normalise_status


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("SUCCESSFUL", PaymentStatus.SUCCESSFUL),
        ("successful", PaymentStatus.SUCCESSFUL),
        (" Successful ", PaymentStatus.SUCCESSFUL),
        ("pending", PaymentStatus.PENDING),
        ("INITIATED", PaymentStatus.PENDING),
        ("DECLINED", PaymentStatus.DECLINED),
        ("CANCELLED", PaymentStatus.CANCELLED),
        ("CANCELED", PaymentStatus.CANCELLED),
        ("canceled", PaymentStatus.CANCELLED),
        ("ERROR", PaymentStatus.FAILED),
        ("FAILED", PaymentStatus.FAILED),
    ],
)
def test_every_documented_spelling_maps_to_one_state(raw, expected):
    assert normalise_status(raw) is expected


@pytest.mark.parametrize("raw", ["SUCCESS", "PAID", "APPROVED", "", None, "SUCCESSFULL", "REFUNDED", 1])
def test_unknown_values_never_count_as_success(raw):
    status = normalise_status(raw)
    assert status is PaymentStatus.PENDING
    assert not status.is_final


def test_final_and_failure_sets():
    assert {s for s in PaymentStatus if s.is_final} == set(PaymentStatus) - {PaymentStatus.PENDING}
    assert {s for s in PaymentStatus if s.is_failure} == {
        PaymentStatus.DECLINED,
        PaymentStatus.CANCELLED,
        PaymentStatus.FAILED,
    }
