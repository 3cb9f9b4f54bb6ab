"""Identities derived from verified email addresses (pure functions)."""

import pytest

from sceau.protocol.identifiers import is_valid_localpart_for_registration
from sceau.services.policy.identity import (
    display_name_from_email,
    localpart_from_email,
    numbered_localparts,
)


@pytest.mark.parametrize(
    ("address", "localpart"),
    [
        ("jean.dupont@interieur.gouv.fr", "jean.dupont-interieur.gouv.fr"),
        ("Marie.Curie@Sante.gouv.fr", "marie.curie-sante.gouv.fr"),
        ("o'brien+tag@ext.fr", "obrien+tag-ext.fr"),
        ("zoé.durand@culture.gouv.fr", "zo.durand-culture.gouv.fr"),
    ],
)
def test_localpart_is_the_lowercased_address_with_at_as_dash_and_invalid_characters_dropped(
    address, localpart
):
    assert localpart_from_email(address) == localpart
    assert is_valid_localpart_for_registration(localpart)


def test_clashing_ids_get_a_number_appended():
    assert numbered_localparts("a-b.fr", limit=3) == ["a-b.fr", "a-b.fr2", "a-b.fr3"]


@pytest.mark.parametrize(
    ("address", "organisations", "name"),
    [
        ("jean.dupont@interieur.gouv.fr", {}, "Jean Dupont [Interieur]"),
        ("jean-pierre.martin@justice.gouv.fr", {}, "Jean-Pierre Martin [Justice]"),
        ("anne_marie.roux@dinum.gouv.fr", {"dinum.gouv.fr": "DINUM"}, "Anne Marie Roux [DINUM]"),
        ("contact+rh@prestataire.fr", {}, "Contact [Prestataire]"),
    ],
)
def test_display_name_is_first_last_and_organisation(address, organisations, name):
    assert display_name_from_email(address, organisations) == name
