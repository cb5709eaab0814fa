"""`among`: the same rows as an IN list on SQLite and PostgreSQL, for no, a few and thousands
of ids, inside larger conditions."""

from sqlmodel import Session, select

from models.org import Branch
from portal.id_lists import among
from tests import factories


def test_among_matches_an_in_list(engine):
    factories.org(engine)
    with Session(engine) as s:
        every = sorted(s.exec(select(Branch.id)).all())
        some = every[1::2]

        def ids(*where) -> list[int]:
            return sorted(s.exec(select(Branch.id).where(*where)).all())

        assert ids(among(Branch.id, some)) == some
        assert ids(among(Branch.id, [])) == [] and ids(among(Branch.id, set())) == []
        many = [*range(-5000, 0), *some]  # thousands of ids, most of them absent
        assert ids(among(Branch.id, many)) == some
        assert ids(among(Branch.id, some), Branch.level == "outlet") == [
            b for b in some if b in ids(Branch.level == "outlet")]
        assert ids(~among(Branch.id, some)) == [b for b in every if b not in some]
