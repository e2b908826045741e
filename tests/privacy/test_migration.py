"""The data migration of existing rows (cases 0008) encrypts and indexes them, and reverses to clear text."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from cases.selectors import consumers_matching
from kameng_api.core import crypto

BEFORE = "0007_merge_0003_case_list_indexes_0006_merge_law"
AFTER = "0008_consumer_personal_data_encrypted"


def _migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("cases", target)])


def _rows():
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, phone, id_number, payment_account FROM cases_consumer ORDER BY id")
        return cursor.fetchall()


@pytest.mark.django_db(transaction=True)
def test_existing_rows_are_encrypted_forward_and_clear_again_backward(org):
    plain = [("张三", "13811112222", "11010519491231002X", "6222020000001111"), ("李四", "", "", "")]
    try:
        _migrate(BEFORE)
        with connection.cursor() as cursor:
            for row in plain:
                cursor.execute("INSERT INTO cases_consumer (organization_id, name, phone, id_number, payment_account) "
                               "VALUES (%s, %s, %s, %s, %s)", [org.pk, *row])
        _migrate(AFTER)
        stored = _rows()
        assert all(v.startswith(crypto.TOKEN_PREFIX) for v in stored[0]) and stored[1][1:] == ("", "", "")
        assert [[crypto.decrypt(v) for v in row] for row in stored] == [list(r) for r in plain]
        assert consumers_matching(kind="phone", value="13811112222").count() == 1
        assert consumers_matching(kind="id_number", value="11010519491231002x").count() == 1
        _migrate(BEFORE)
        assert _rows() == plain
    finally:
        executor = MigrationExecutor(connection)  # every app back at its latest migration, whatever went backwards
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
