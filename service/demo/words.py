"""Word lists the demo data generator draws names, places and labels from."""

from __future__ import annotations

FIRST_NAMES = (
    "Amelia", "Oliver", "Isla", "George", "Ava", "Harry", "Mia", "Noah", "Sophie", "Jack",
    "Grace", "Leo", "Freya", "Arthur", "Priya", "Mohammed", "Aisha", "Omar", "Chloe", "Daniel",
    "Zara", "Samuel", "Ella", "Thomas", "Hannah", "Ravi", "Niamh", "Callum", "Megan", "Tariq",
    "Lucy", "Kwame", "Fatima", "Ewan", "Olivia", "Marek", "Agnieszka", "Liam", "Rosa", "Yusuf",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Khan", "Ahmed", "Murphy", "Campbell", "Kowalski", "Nowak", "Singh", "Okafor", "Hughes",
    "Edwards", "Clarke", "Lewis", "Morgan", "Cooper", "Ward", "Bennett", "Price", "Begum",
)  # fmt: skip
STREETS = (
    "High Street", "Station Road", "Church Lane", "Victoria Road", "Park Avenue", "Mill Lane",
    "Queens Road", "Kings Road", "The Crescent", "Manor Way", "Chapel Street", "Green Lane",
    "Orchard Close", "Bridge Street", "New Road", "London Road", "York Road", "Elm Grove",
    "Windsor Drive", "Meadow View", "Castle Street", "Market Place", "Albert Road", "Cedar Court",
)  # fmt: skip
TOWNS = (
    "Leeds", "Bristol", "Manchester", "Birmingham", "Sheffield", "Nottingham", "Leicester",
    "Cardiff", "Glasgow", "Edinburgh", "Newcastle", "Liverpool", "Bradford", "Coventry",
    "Reading", "Norwich", "Exeter", "York", "Derby", "Swansea", "Aberdeen", "Belfast",
)  # fmt: skip
POSTCODE_AREAS = ("LS", "BS", "M", "B", "S", "NG", "LE", "CF", "G", "EH", "NE", "L", "BD", "CV")
DOMAINS = ("example.com", "example.net", "example.org", "mail.example")
BANKS = ("NWBK", "BARC", "LOYD", "HBUK", "MIDL", "NAIA", "SRLG", "MONZ")
HANDLERS = (
    "a.khan", "b.osei", "c.murray", "d.reid", "e.santos", "f.lindqvist", "g.patel", "h.obi",
)  # fmt: skip
CLAIM_LINES = ("motor", "motor", "motor", "home", "home", "travel")
# line -> (trade in the provider's name, its role in the claim)
PROVIDERS = {
    "motor": ("Motor Repairs", "garage"),
    "home": ("Building Services", "contractor"),
    "travel": ("Medical Centre", "clinic"),
}
COMPLAINT_PRODUCTS = (
    "current-account", "credit-card", "mortgage", "personal-loan", "home-insurance",
    "motor-insurance", "broadband", "energy",
)  # fmt: skip
COMPLAINT_CATEGORIES = (
    "billing-error", "poor-service", "delay", "mis-selling", "fees-and-charges", "data-privacy",
)  # fmt: skip
