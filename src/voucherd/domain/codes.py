"""Voucher codes: generation with ``secrets``, normalisation, check characters, masking.

Codes are secrets. They are compared after ``normalize`` (case-insensitive, whitespace
ignored), stored unique per tenant, and only ever logged through ``mask``.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from voucherd.domain.errors import CodeSpaceTooSmall, ValidationFailed

# No 0/O, 1/I/L: nothing a customer can misread from a printed card.
UNAMBIGUOUS: Final = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
ALPHANUMERIC: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
NUMERIC: Final = "0123456789"
PLACEHOLDER: Final = "#"
MAX_CODE_LENGTH: Final = 64
# A campaign may fill at most this share of its code space: beyond it a guessed code is too
# likely to be real and generating the last free codes costs ever more retries.
SAFE_FILL_RATIO: Final = 0.1
# The least entropy a campaign's random part may have (log2 of its code space): below it a
# guessing script finds live codes within the guess budgets. A campaign below it must be
# marked as PIN-protected printed stock, whose PIN carries the entropy.
MIN_CODE_BITS: Final = 40
MAX_CODE_BLOCK: Final = 65_536  # codes per draw of random bytes in ``CodeSpec.generate``


def normalize(code: str) -> str:
    """Upper-case, with all white space removed: the form codes are stored and compared in."""
    return "".join(code.split()).upper()


def mask(code: str) -> str:
    """What may appear in logs and dashboards: the last four characters only."""
    return "*" * max(len(code) - 4, 0) + code[-4:] if len(code) > 4 else "*" * len(code)


def check_character(body: str, charset: str) -> str:
    """Luhn mod N check character over ``charset`` (catches every single-character typo).

    Characters outside the charset (separators such as '-') do not take part.
    """
    n = len(charset)
    factor, total = 2, 0
    for char in reversed(body):
        index = charset.find(char)
        if index < 0:
            continue
        addend = factor * index
        factor = 1 if factor == 2 else 2
        total += addend // n + addend % n
    return charset[(n - total % n) % n]


@dataclass(frozen=True, slots=True)
class CodeSpec:
    charset: str = UNAMBIGUOUS
    length: int = 12
    prefix: str = ""
    suffix: str = ""
    pattern: str | None = None  # e.g. "####-####": '#' is one random character
    check_char: bool = False

    def __post_init__(self) -> None:
        charset = normalize(self.charset)
        if len(set(charset)) != len(charset) or len(charset) < 2:
            raise ValidationFailed(
                "charset needs at least two distinct characters", field="charset"
            )
        if self.pattern is None and not 1 <= self.length <= MAX_CODE_LENGTH:
            raise ValidationFailed(
                f"length must be between 1 and {MAX_CODE_LENGTH}", field="length"
            )
        if self.pattern is not None and PLACEHOLDER not in self.pattern:
            raise ValidationFailed("pattern needs at least one '#'", field="pattern")
        total = len(self.prefix) + len(self.suffix) + len(self.pattern or "x" * self.length)
        if total + self.check_char > MAX_CODE_LENGTH:
            raise ValidationFailed(
                f"codes would be longer than {MAX_CODE_LENGTH} characters", field="pattern"
            )

    @property
    def random_length(self) -> int:
        return self.pattern.count(PLACEHOLDER) if self.pattern else self.length

    @property
    def space(self) -> int:
        """How many distinct codes this spec can produce."""
        return int(len(self.charset) ** self.random_length)

    @property
    def bits(self) -> float:
        """The entropy of a random code of this spec, in bits."""
        return self.random_length * math.log2(len(normalize(self.charset)))

    def ensure_entropy(self, pin_protected: bool = False) -> None:
        """Raises: CodeSpaceTooSmall below ``MIN_CODE_BITS``, unless ``pin_protected``."""
        if pin_protected or self.bits >= MIN_CODE_BITS:
            return
        raise CodeSpaceTooSmall(
            f"this code space gives {self.bits:.1f} bits of entropy, below the {MIN_CODE_BITS}"
            " a guessable code needs; use a longer code or a larger charset, or mark the"
            " campaign as PIN-protected printed stock (pin_protected)",
            bits=round(self.bits, 1),
            minimum=MIN_CODE_BITS,
        )

    def ensure_room(self, wanted: int, existing: int = 0) -> None:
        """Raises: CodeSpaceTooSmall when ``wanted`` more codes would overfill the space."""
        limit = math.floor(self.space * SAFE_FILL_RATIO)
        if existing + wanted > limit:
            raise CodeSpaceTooSmall(
                f"{wanted} more codes would fill more than {SAFE_FILL_RATIO:.0%} of this"
                f" campaign's code space ({self.space} codes, {existing} used); use a longer"
                " code or a larger charset",
                space=self.space,
                limit=limit,
                existing=existing,
            )

    def _render(self, body: str) -> str:
        if self.pattern:
            parts = iter(body)
            body = "".join(next(parts) if ch == PLACEHOLDER else ch for ch in self.pattern)
        code = normalize(f"{self.prefix}{body}{self.suffix}")
        if self.check_char:
            code += check_character(code, self._check_alphabet())
        return normalize(code)

    def _check_alphabet(self) -> str:
        return normalize(self.charset)

    def generate(self, count: int) -> Iterator[str]:
        """Yield ``count`` random codes (duplicates are possible; the database refuses them)."""
        charset = normalize(self.charset)
        n = len(charset)
        # Rejection sampling done in C: bytes.translate drops the biased tail of 0..255.
        accepted = 256 - 256 % n
        table = bytes(ord(charset[b % n]) if b < accepted else 0 for b in range(256))
        rejected = bytes(range(accepted, 256))
        size = self.random_length
        produced = 0
        buffer = b""
        # Random bytes are drawn in blocks that double from a few codes' worth, not for all
        # ``count`` up front: callers ask for a generous bound (a single create asks for a
        # million, a bulk generate for four times its count) and take far fewer (drawing a
        # million codes' worth took 0.14 s per single create, and 48 MB per bulk million).
        block = 16
        while produced < count:
            need = min(count - produced, block) * size - len(buffer)
            block = min(block * 2, MAX_CODE_BLOCK)
            if need > 0:
                raw = secrets.token_bytes(int(need * 256 / accepted) + 64)
                buffer += raw.translate(table, rejected)
            available = min(len(buffer) // size, count - produced)
            chunk = buffer[: available * size].decode("ascii")
            buffer = buffer[available * size :]
            for i in range(available):
                yield self._render(chunk[i * size : (i + 1) * size])
            produced += available

    def matches(self, code: str) -> bool:
        """Whether ``code`` could have come from this spec (incl. its check character)."""
        code = normalize(code)
        if self.check_char:
            body, check = code[:-1], code[-1:]
            if check_character(body, self._check_alphabet()) != check:
                return False
            code = body
        return self._shaped(code)

    def shaped(self, code: str) -> bool:
        """Whether ``code`` has this spec's form, whatever its check character says."""
        code = normalize(code)
        if self.check_char:
            if not code or code[-1] not in self._check_alphabet():
                return False
            code = code[:-1]
        return self._shaped(code)

    def _shaped(self, code: str) -> bool:
        prefix, suffix = normalize(self.prefix), normalize(self.suffix)
        if not (code.startswith(prefix) and code.endswith(suffix)):
            return False
        core = code[len(prefix) : len(code) - len(suffix)]
        charset = normalize(self.charset)
        if self.pattern:
            pattern = normalize(self.pattern)
            return len(core) == len(pattern) and all(
                (c in charset) if p == PLACEHOLDER else c == p
                for c, p in zip(core, pattern, strict=True)
            )
        return len(core) == self.length and all(c in charset for c in core)


def refuted(specs: Iterable[CodeSpec], code: str) -> bool:
    """Whether ``code`` cannot be a code of these specs: it has the form of a spec with a check
    character but a wrong one, and no spec produces it as it is. A code of no spec's form (an
    imported one) is never refuted: only the database knows it.
    """
    specs = list(specs)
    checked = [spec for spec in specs if spec.check_char]
    if not checked or any(spec.matches(code) for spec in specs):
        return False
    return any(spec.shaped(code) for spec in checked)


def validate_custom(code: str) -> str:
    """Normalise an imported code, refusing what could not be typed at a till."""
    normalized = normalize(code)
    if not normalized:
        raise ValidationFailed("code must not be empty", field="code", rule="required")
    if len(normalized) > MAX_CODE_LENGTH:
        raise ValidationFailed(
            f"code must be at most {MAX_CODE_LENGTH} characters", field="code", rule="max"
        )
    if not normalized.isprintable() or not normalized.isascii():
        raise ValidationFailed(
            "code may hold printable ASCII characters only", field="code", rule="charset"
        )
    return normalized


def random_pin(length: int = 6) -> str:
    return "".join(secrets.choice(NUMERIC) for _ in range(length))
