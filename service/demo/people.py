"""People and organisations for the demo data, each with identifiers no other party has."""

from __future__ import annotations

import hashlib
import random

from service.demo.words import (
    BANKS,
    DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    POSTCODE_AREAS,
    PROVIDERS,
    STREETS,
    TOWNS,
)
from service.graph.models import Identifier, IdentifierKind, Party


class People:
    """Makes parties; party number N gets the Nth phone, address, e-mail and bank account."""

    def __init__(self, rng: random.Random, prefix: str) -> None:
        self.rng = rng
        self.prefix = prefix
        self.owners = 0  # parties made so far; numbers their unique identifiers
        # Phones keep only digits when stored, so a prefix becomes digits of its own.
        self.phone_salt = (
            "+9" + str(int(hashlib.sha256(prefix.encode()).hexdigest(), 16))[:9] if prefix else ""
        )

    def next_owner(self) -> int:
        self.owners += 1
        return self.owners

    def person(
        self, role: str, *, kinds: tuple[IdentifierKind, ...], flagged: bool = False
    ) -> Party:
        owner = self.next_owner()
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        values = {
            "email": lambda: f"{self.prefix}{first}.{last}{owner}@{self.rng.choice(DOMAINS)}",
            "phone": lambda: self.phone(owner),
            "address": lambda: self.address(owner),
            "bank_account": lambda: self.iban(owner),
        }
        return Party(
            id=f"{self.prefix}P-{owner:06d}",
            kind="person",
            name=f"{first} {last}",
            role=role,
            identifiers=[Identifier(kind=k, value=values[k]()) for k in kinds],
            flagged=flagged,
            attributes={"born": self.rng.randint(1940, 2004)},
        )

    def provider(self, line: str) -> Party:
        owner = self.next_owner()
        trade, role = PROVIDERS[line]
        town = TOWNS[owner % len(TOWNS)]
        name = f"{self.rng.choice(LAST_NAMES)} {trade} {town}"
        return Party(
            id=f"{self.prefix}O-{owner:06d}",
            kind="organisation",
            name=name,
            role=role,
            identifiers=[
                Identifier(kind="address", value=self.address(owner)),
                Identifier(kind="bank_account", value=self.iban(owner)),
            ],
        )

    def phone(self, owner: int) -> str:
        digits = f"{(owner * 386_910_137 + 104_729) % 1_000_000_000:09d}"
        if self.phone_salt:
            return f"{self.phone_salt}{digits}"
        return f"+44 7{digits[:3]} {digits[3:]}"

    def address(self, owner: int) -> str:
        street = STREETS[owner % len(STREETS)]
        number = owner // len(STREETS) + 1
        town = TOWNS[(owner * 7) % len(TOWNS)]
        area = POSTCODE_AREAS[(owner * 3) % len(POSTCODE_AREAS)]
        code = (
            f"{area}{owner % 20 + 1} {owner % 9 + 1}{'ABDEFGHJ'[owner % 8]}{'LNPQRSTU'[owner % 7]}"
        )
        text = f"{number} {street}, {town} {code}"
        return f"{self.prefix} {text}" if self.prefix else text

    def iban(self, owner: int) -> str:
        bank = BANKS[owner % len(BANKS)]
        account = f"{(owner * 982_451_653 + 42_431_337) % 10**14:014d}"
        bban = bank + account
        number = "".join(str(int(c, 36)) for c in bban + "GB00")
        check = 98 - int(number) % 97
        iban = f"GB{check:02d}{bban}"
        spaced = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
        return f"{self.prefix}{spaced}"
