"""Key rotation while the service keeps writing: no correction is lost, everything ends under the new key."""

import io
import threading

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection, connections

from cases.models import Consumer
from cases.selectors import consumers_matching
from kameng_api.core import crypto
from tests.factories import ConsumerFactory


@pytest.mark.django_db(transaction=True)
def test_rotation_during_writes_keeps_every_write_and_ends_under_the_new_key(org, settings):
    old_key = settings.KAMENG_DATA_KEYS[0]
    consumers = [ConsumerFactory(organization=org, phone=f"1370000{i:04d}") for i in range(120)]
    new_key = Fernet.generate_key().decode()
    settings.KAMENG_DATA_KEYS = [new_key, old_key]
    out = io.StringIO()
    errors = []

    def rotate():
        try:
            call_command("rotate_data_keys", "--batch", "7", "--pause", "0.01", stdout=out)
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connections.close_all()

    worker = threading.Thread(target=rotate)
    worker.start()
    written = {}
    for i, consumer in enumerate(consumers[::3]):  # the service corrects phones meanwhile
        consumer.phone = f"1390000{i:04d}"
        consumer.save()
        written[consumer.pk] = consumer.phone
    worker.join(120)
    assert not worker.is_alive() and errors == [], errors
    settings.KAMENG_DATA_KEYS = [new_key]  # the old key removed: everything must still read
    for consumer in Consumer.objects.all():
        assert consumer.phone == written.get(consumer.pk, consumer.phone)
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM cases_consumer")
        assert all(crypto.is_current(token) for (token,) in cursor.fetchall())
    assert all(consumers_matching(kind="phone", value=phone).count() == 1 for phone in written.values())
    assert "re-encrypted" in out.getvalue()
