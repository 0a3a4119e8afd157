"""Customers across rooftops into profiles: matching rules, merged by union-find, ids stable across reruns.

Rules, strongest first (a link names the first rule that joined the record to anyone):
- `email`: the same normalised e-mail address;
- `phone+name`: the same E.164 phone, and first and last names each the same or one slip apart
  (two neighbouring letters swapped, one dropped): a phone alone is shared by a household and
  recycled by carriers;
- `name+postal`: the same first and last name in the same postal code.
The two weaker rules never join two records whose e-mails are both known and differ. A value
shared by more than PLACEHOLDER_SIZE records (`none@none.com`, the store's own number) is a
placeholder, not a person, and joins nothing. A profile's id is a hash of its smallest member
key, so the same input gives the same ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from auterity_pipelines.identity.normalise import e164, email_key, name_key, postal_key

SINGLE = "single"  # a profile of one record: nothing matched
PLACEHOLDER_SIZE = 50


@dataclass
class Resolution:
    links: pd.DataFrame  # dealership_id, customer_id, profile_id, rule
    profiles: (
        pd.DataFrame
    )  # profile_id, first_name, last_name, email, phone, postal_code, members, rooftops, updated_at


def keyed(customers: pd.DataFrame) -> pd.DataFrame:
    """The customers with their normalised keys."""
    frame = customers.reset_index(drop=True).copy()
    frame["email_key"] = frame["email"].map(email_key, na_action="ignore")
    frame["phone_key"] = frame["phone"].map(e164, na_action="ignore")
    frame["first_key"] = frame["first_name"].map(name_key, na_action="ignore")
    frame["last_key"] = frame["last_name"].map(name_key, na_action="ignore")
    frame["postal_key"] = frame["postal_code"].map(postal_key, na_action="ignore")
    return frame


def one_slip(a: str | None, b: str | None) -> bool:
    """Equal, or apart by two neighbouring letters swapped or one letter dropped."""
    if a is None or b is None or a != a or b != b:  # missing (None or NaN)
        return False
    if a == b:
        return True
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and a[diffs[0]] == b[diffs[1]]
            and a[diffs[1]] == b[diffs[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    if len(long) - len(short) != 1:
        return False
    i = next((i for i, (x, y) in enumerate(zip(short, long)) if x != y), len(short))
    return short[i:] == long[i + 1 :]


class _UnionFind:
    def __init__(self, n: int):
        self.parent = np.arange(n)

    def find(self, i: int) -> int:
        parent = self.parent
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    def union(self, x: int, y: int) -> None:
        rx, ry = self.find(x), self.find(y)
        if rx != ry:
            self.parent[max(rx, ry)] = min(rx, ry)

    def roots(self) -> np.ndarray:
        return np.array([self.find(i) for i in range(len(self.parent))])


def _groups(key: pd.Series) -> list[np.ndarray]:
    """Row numbers sharing a key value, for values shared by 2 to PLACEHOLDER_SIZE rows."""
    present = key.dropna()
    sizes = present.map(present.value_counts())
    shared = present[(sizes > 1) & (sizes <= PLACEHOLDER_SIZE)]
    if shared.empty:
        return []
    rows = shared.index.to_numpy()
    return [rows[positions] for positions in shared.groupby(shared, sort=False).indices.values()]


def _compatible(frame: pd.DataFrame, rule: str):
    """Whether two rows sharing the rule's key may be joined by it."""
    emails = frame["email_key"].to_numpy(dtype=object)
    firsts = frame["first_key"].to_numpy(dtype=object)
    lasts = frame["last_key"].to_numpy(dtype=object)

    def known(value) -> bool:
        return isinstance(value, str)

    def check(i: int, j: int) -> bool:
        if known(emails[i]) and known(emails[j]) and emails[i] != emails[j]:
            return False
        if rule == "phone+name":
            return one_slip(firsts[i], firsts[j]) and one_slip(lasts[i], lasts[j])
        return True

    return check


def resolve(customers: pd.DataFrame) -> Resolution:
    """`customers`: dealership_id, customer_id, first_name, last_name, email, phone, postal_code, updated_at."""
    frame = keyed(customers)
    n = len(frame)
    uf = _UnionFind(n)
    rule = np.full(n, SINGLE, dtype=object)
    postal_name = frame["first_key"] + "|" + frame["last_key"] + "|" + frame["postal_key"]
    keys = {"email": frame["email_key"], "phone+name": frame["phone_key"], "name+postal": postal_name}
    for name, key in keys.items():
        check = _compatible(frame, name)
        for rows in _groups(key.reset_index(drop=True)):
            for a in range(len(rows)):
                for b in range(a + 1, len(rows)):
                    i, j = int(rows[a]), int(rows[b])
                    if name == "email" or check(i, j):
                        uf.union(i, j)
                        for k in (i, j):
                            if rule[k] == SINGLE:
                                rule[k] = name
    frame["root"] = uf.roots()
    frame["member_key"] = frame["dealership_id"] + "/" + frame["customer_id"]
    anchor = frame.groupby("root")["member_key"].transform("min")
    frame["profile_id"] = anchor.map(lambda k: "CP-" + hashlib.sha256(k.encode()).hexdigest()[:16])
    frame["rule"] = rule
    links = frame[["dealership_id", "customer_id", "profile_id", "rule"]]
    return Resolution(links, _profiles(frame))


def _profiles(frame: pd.DataFrame) -> pd.DataFrame:
    """Each profile with the latest known value of each field, and how many records and rooftops it joins."""
    ordered = frame.sort_values(["profile_id", "updated_at", "member_key"])
    fields = ordered.groupby("profile_id")[
        ["first_name", "last_name", "email_key", "phone_key", "postal_key", "updated_at"]
    ].last()  # last() skips missing values: an email one rooftop lacks comes from another
    sizes = frame.groupby("profile_id").agg(
        members=("customer_id", "size"), rooftops=("dealership_id", "nunique")
    )
    fields = fields.rename(columns={"email_key": "email", "phone_key": "phone", "postal_key": "postal_code"})
    return fields.join(sizes).reset_index()
