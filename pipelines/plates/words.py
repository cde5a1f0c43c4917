"""Words printed on plates or next to them that are not part of the number.

Country bands and captions (``MERCOSUR``, ``REPUBLICA ARGENTINA``, ``BRASIL``, the EU band's
``HR``/``CZ``/``D``), and the makes and models on the badges that sit above most plates. A token
(space-separated group of recognised characters) in these lists is dropped from a plate line; a
whole line made of them is not a plate.
"""

from __future__ import annotations

from .text import normalize

# Words on plates themselves: Mercosur bands, country names, state/department captions.
PLATE_WORDS: frozenset[str] = frozenset(
    normalize(w)
    for w in """
    MERCOSUR MERCOSUL REPUBLICA ARGENTINA BRASIL BRAZIL PARAGUAY URUGUAY PERU REPUBLICADELPERU
    ELSALVADOR SALVADOR CENTROAMERICA REPUBLICAARGENTINA REPUBLICAFEDERATIVADOBRASIL REPUBLICAORIENTAL
    REPUBLICADELPARAGUAY ORIENTAL FEDERATIVA PARTICULAR TRANSPORTE PUBLICO OFICIAL
    CZECH REPUBLIC CZECHREPUBLIC HRVATSKA SLOVENIJA SLOVENSKO EUROPE
    USA AMERICA CALIFORNIA TEXAS FLORIDA NEWYORK DMV
    """.split()
)

# Country codes of the EU band and the international oval; dropped only as separate tokens at
# the start or end of a line, and only when enough is left (they are also valid plate prefixes).
COUNTRY_CODES: frozenset[str] = frozenset(
    """A B BG CH CY CZ D DK E EST F FIN GB GBM H HR I IRL L LT LV M MC N NL P PL RO RUS S SK SLO
    SRB UA RA BR PY ROU PE ES USA""".split()
)

# Text on vehicles near the plate that a loose (European/US) format would otherwise accept.
NON_PLATE_WORDS: frozenset[str] = frozenset(
    normalize(w)
    for w in """
    AUDI BMW CITROEN DACIA FIAT FORD HONDA HYUNDAI KIA LADA MAZDA MERCEDES MERCEDESBENZ MITSUBISHI
    NISSAN OPEL PEUGEOT RENAULT SEAT SKODA SUBARU SUZUKI TOYOTA VOLKSWAGEN VOLVO CHEVROLET JEEP
    DODGE CHRYSLER TESLA JAGUAR LANDROVER ROVER PORSCHE MINI SMART IVECO SCANIA ISUZU
    FELICIA FABIA OCTAVIA PUNTO PANDA CLIO MEGANE LAGUNA GOLF POLO PASSAT CORSA ASTRA BERLINGO
    TOURAN TIGUAN FOCUS FIESTA MONDEO COROLLA YARIS CIVIC LOGAN SANDERO GOL ONIX CRUZE
    DIESEL TURBO TDI CDI HDI DCI TSI GTI TAXI POLICE POLICIA EXIT NORTH SOUTH EAST WEST STOP
    """.split()
)

DROP_WORDS: frozenset[str] = PLATE_WORDS | NON_PLATE_WORDS

# Marks of a watermark or an address, never on a plate.
NON_PLATE_MARKS = ("©", "@", "WWW", "HTTP", ".COM")


def is_plate_word(token: str) -> bool:
    return normalize(token) in PLATE_WORDS


def is_non_plate_text(text: str) -> bool:
    """True when a whole read is a make, model or caption rather than a number."""
    return normalize(text) in DROP_WORDS


def has_non_plate_marks(raw: str) -> bool:
    """True for recognised text with a copyright sign, an e-mail or web address (watermarks)."""
    up = raw.upper()
    return any(m in up for m in NON_PLATE_MARKS)
