"""Words printed on plates or next to them that are not part of the number.

Country bands and captions (``MERCOSUR``, ``REPUBLICA ARGENTINA``, ``BRASIL``, the EU band's
``HR``/``CZ``/``D``), and the makes and models on the badges that sit above most plates. A token
(space-separated group of recognised characters) in these lists is dropped from a plate line; a
whole line made of them is not a plate.
"""

from __future__ import annotations

import re

from .text import normalize

_NOT_LETTER = re.compile(r"[^A-Z]+")

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

# Words of street, road and shop signs (Spanish, Portuguese, English): transport and roads,
# places and buildings, trades and shops, offers, hours, fuel and phone brands of the region. A
# plate's letters are a registry's serial, not a word; a letter group that is one of these makes a
# read sign-like (:func:`sign_word_factor`). Three letters at least (shorter groups are too often
# a real serial's letters).
SIGN_WORDS: frozenset[str] = frozenset(
    normalize(w)
    for w in """
    AVENIDA AVDA CALLE RUA RUTA ROUTE ROAD STREET PASAJE CAMINO ESTRADA AUTOPISTA RODOVIA AUTOVIA
    PEAJE PEDAGIO SALIDA SAIDA ENTRADA EXIT ENTRANCE ACCESO ACESSO ZONA ZONE ESCOLAR ESCUELA ESCOLA
    COLEGIO BUS BUSES ONIBUS PARADA STATION ESTACION ESTACAO TERMINAL ANDEN PLATAFORMA LINEA LINHA
    LINE METRO SUBTE TREN TREM TRAIN TRAM REMIS PARKING PARK ESTACIONAMIENTO ESTACIONAR
    ESTACIONAMENTO GARAGE GARAJE COCHERA PISO NIVEL LEVEL FLOOR SECTOR LOTE LOCAL PUERTA PORTA GATE
    DOOR NORTE SUR SUL ESTE OESTE LESTE CENTRO CENTER CENTRE VELOCIDAD VELOCIDADE SPEED LIMIT LIMITE
    PARE ALTO CEDA YIELD DESVIO DETOUR OBRAS CURVA PUENTE PONTE BRIDGE TUNEL TUNNEL PLAZA PRACA
    SQUARE BARRIO BAIRRO BLOCK BLOQUE BLOCO TORRE TOWER EDIFICIO PREDIO HOSPITAL CLINICA BOMBEROS
    BOMBEIROS KILOMETRO KILOMETROS METROS
    SALE SALDO SALDOS OFERTA OFERTAS PROMO PROMOCION LIQUIDACION DESCUENTO DESCONTO OPEN ABIERTO
    ABERTO CLOSED CERRADO FECHADO HORAS HORARIO HOTEL MOTEL HOSTEL BAR CAFE RESTAURANTE RESTAURANT
    PIZZA PIZZERIA PARRILLA GRILL BURGER FOOD COMIDA COMIDAS LANCHES LANCHONETE KIOSCO KIOSKO
    QUIOSQUE MERCADO SUPER SUPERMERCADO MARKET MINIMARKET SHOP STORE TIENDA LOJA FARMACIA DROGARIA
    PHARMACY BANCO BANK CAJERO CAMBIO TALLER OFICINA GOMERIA LAVADERO AUTO AUTOS MOTO MOTOS RENT
    ALQUILER ALUGUEL VENTA VENTAS VENDE VENDO COMPRO TEL TELEFONO FONE WHATSAPP WIFI FREE GRATIS
    TODO TODOS NUEVO NOVO NEW POSTO NAFTA GASOLINA SERVICIO SERVICIOS SERVICE PANADERIA PADARIA
    CARNICERIA FERRETERIA LIBRERIA PELUQUERIA OPTICA HELADERIA VERDULERIA ALMACEN DESPENSA BAZAR
    CLUB GIMNASIO IGLESIA IGREJA CASA CASAS HOGAR DEPTO DEPARTAMENTO OFFICE INFO AYUDA NUMERO
    SHELL YPF ESSO TEXACO PETROBRAS AXION PUMA COCACOLA COCA COLA PEPSI CLARO MOVISTAR PERSONAL
    VIVO TIGO ENTEL
    """.split()
)
SIGN_WORD_FACTOR = 0.5  # a read whose letters are a sign word (see sign_word_factor)
LONG_RUN = 5  # a run of this many letters is a word, not a serial (plates: at most 4)
LONG_RUN_FACTOR = 0.4
WORDLIKE_FACTOR = 0.6  # a pronounceable run of 4+ letters (consonants and vowels alternating)
SHORT_GENERIC = 4  # generic reads this short are rarely plates (a level, a gate, a km mark)
SHORT_FACTOR = 0.6
_VOWELS = frozenset("AEIOU")
_WORDS_3 = frozenset(w for w in SIGN_WORDS | NON_PLATE_WORDS if len(w) >= 3)
_WORDS_4 = frozenset(w for w in _WORDS_3 if len(w) >= 4)

# Marks of a watermark, an address, a price or a percentage: never on a plate.
NON_PLATE_MARKS = ("©", "@", "WWW", "HTTP", ".COM", "%", "$", "€", "&")


def is_plate_word(token: str) -> bool:
    return normalize(token) in PLATE_WORDS


def is_non_plate_text(text: str) -> bool:
    """True when a whole read is a make, model or caption rather than a number."""
    return normalize(text) in DROP_WORDS


def has_non_plate_marks(raw: str) -> bool:
    """True for recognised text with a copyright sign, an e-mail or web address (watermarks)."""
    up = raw.upper()
    return any(m in up for m in NON_PLATE_MARKS)


def letter_runs(text: str) -> list[str]:
    """The maximal runs of letters in normalised text: ``"AB123CD"`` -> ``["AB", "CD"]``."""
    return [r for r in _NOT_LETTER.split(text) if r]


def is_sign_word(run: str) -> bool:
    """A letter run that is a sign word, or a long run starting or ending with one (``SALIDAB``
    from ``SALIDA B2``: the word and the next group's letter)."""
    if run in _WORDS_3:
        return True
    return len(run) >= LONG_RUN and any(
        run[:k] in _WORDS_4 or run[-k:] in _WORDS_4 for k in range(4, len(run))
    )


def is_wordlike(run: str) -> bool:
    """Pronounceable: 4+ letters, a third of them vowels or more, no three consonants in a row.
    A registry's serial letters rarely are (and Chile's have no vowels at all)."""
    if len(run) < 4:
        return False
    vowels = [c in _VOWELS for c in run]
    if 3 * sum(vowels) < len(run):
        return False
    return not any(not (a or b or c) for a, b, c in zip(vowels, vowels[1:], vowels[2:], strict=False))


_TWIN_LETTERS = str.maketrans("01", "OI")


def sign_word_factor(text: str) -> float:
    """:data:`SIGN_WORD_FACTOR` when a letter run of ``text`` is a sign word, also with the twins
    ``0``/``1`` taken as the letters they look like (``PIS012`` is ``PISO 12``), else 1."""
    runs = letter_runs(text) + letter_runs(text.translate(_TWIN_LETTERS))
    return SIGN_WORD_FACTOR if any(is_sign_word(r) for r in runs) else 1.0


def generic_plate_likeness(text: str) -> float:
    """How much a read no preset fits looks like a plate number rather than sign text, 0..1.

    Registries number plates with short letter groups (at most four) beside digits; sign text is
    words (long or pronounceable letter runs, dictionary words) with a number, or short marks
    (a level ``B2``, a ``KM 27``). Each trait multiplies: a run of :data:`LONG_RUN` letters or
    more, a pronounceable run of four or more, a sign word, fewer than :data:`SHORT_GENERIC` + 1
    characters."""
    runs = letter_runs(text)
    f = 1.0
    if any(len(r) >= LONG_RUN for r in runs):
        f *= LONG_RUN_FACTOR
    elif any(is_wordlike(r) for r in runs):
        f *= WORDLIKE_FACTOR
    f *= sign_word_factor(text)
    if len(text) <= SHORT_GENERIC:
        f *= SHORT_FACTOR
    return f
