"""States are enums with one table of allowed moves per model; the database keeps to them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage import help_requests, problems, states
from storage.db import Database
from storage.models import (
    Branch,
    Community,
    HelpRequest,
    HelpStatus,
    Person,
    ProblemReport,
    ProblemStatus,
)
from storage.states import IllegalMove

NOW = dt.datetime(2026, 12, 5, 9, 0, tzinfo=dt.UTC)


def a_request(database: Database) -> int:
    with database.session() as session:
        community = Community(name="幸福社区")
        session.add(community)
        session.flush()
        branch = Branch(community_id=community.id, name="第一党支部")
        person = Person(created_at=NOW)
        session.add_all([branch, person])
        session.flush()
        return help_requests.create(session, branch_id=branch.id, requester_id=person.id,
                                    category="other", text="帮忙搬米", created_at=NOW).id


def test_a_state_comes_back_as_its_enum(any_db: Database) -> None:
    request_id = a_request(any_db)
    with any_db.session() as session:
        request = session.get(HelpRequest, request_id)
        assert request is not None
        assert request.status is HelpStatus.OPEN


def test_a_closed_request_cannot_be_taken_again(any_db: Database) -> None:
    request_id = a_request(any_db)
    with any_db.session() as session:
        request = session.get(HelpRequest, request_id)
        assert request is not None
        request.status = HelpStatus.CLOSED
    with any_db.session() as session:
        request = session.get(HelpRequest, request_id)
        assert request is not None
        with pytest.raises(IllegalMove, match="HelpRequest: closed → taken"):
            states.move(request, HelpStatus.TAKEN)
        assert request.status is HelpStatus.CLOSED


def test_a_conditional_update_from_a_state_without_that_move_is_refused(
        any_db: Database) -> None:
    with any_db.session() as session, pytest.raises(IllegalMove):
        # A rejected report does not come back as new, whatever row it is.
        problems.move(session, 1, (ProblemStatus.REJECTED,), ProblemStatus.NEW, NOW)
    with any_db.session() as session:
        assert session.query(ProblemReport).count() == 0


def test_the_database_refuses_a_state_no_enum_has(any_db: Database) -> None:
    request_id = a_request(any_db)
    with pytest.raises(IntegrityError), any_db.session() as session:
        session.execute(text("UPDATE help_requests SET status = 'finished' WHERE id = :id"),
                        {"id": request_id})
