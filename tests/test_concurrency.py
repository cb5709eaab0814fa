"""Read-then-write transactions from many threads: none fails, none is lost."""

from concurrent.futures import ThreadPoolExecutor

from sqlmodel import Session, select

from models.org import Branch
from portal import db


def _bump(session, *, code):
    branch = session.exec(select(Branch).where(Branch.code == code).with_for_update()).one()
    branch.customer_base += 1  # read, then write: needs IMMEDIATE on SQLite
    session.add(branch)


def test_parallel_read_modify_write_loses_nothing(engine):
    with Session(engine) as s:
        s.add(Branch(code="X", name="x", level="branch"))
        s.commit()
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda _: db.run(_bump, engine=engine, code="X"), range(50)))
    with Session(engine) as s:
        assert s.exec(select(Branch.customer_base).where(Branch.code == "X")).one() == 50
