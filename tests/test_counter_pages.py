"""The módulo room's pages render without a session (their data comes from the API), and the
rating screen's texts exist in Spanish and Quechua key for key."""

from __future__ import annotations

from counter.pages import SHORTCUTS, rating_texts


def test_the_rating_texts_have_the_same_keys_in_spanish_and_quechua():
    texts = rating_texts()
    assert set(texts["es"]) == set(texts["qu"])
    assert all(texts["qu"][k].strip() for k in texts["qu"])
    assert {f"score_{n}" for n in range(1, 6)} <= set(texts["es"])


def test_the_desk_lists_its_keyboard_shortcuts_and_keeps_the_bound_modulo(app):
    page = app.test_client().get("/counter?counter=12").get_data(as_text=True)
    for key, _, text in SHORTCUTS:
        assert f"<kbd>{key}</kbd>" in page and text in page
    assert 'data-bound="12"' in page


def test_a_bound_modulo_that_is_not_a_number_is_ignored(app):
    page = app.test_client().get("/counter?counter=x1").get_data(as_text=True)
    assert 'data-bound=""' in page


def test_the_rating_screen_offers_five_faces_with_words(app):
    page = app.test_client().get("/counter/rating?counter=3").get_data(as_text=True)
    assert page.count('class="face face-') == 5
    assert 'data-bound="3"' in page and "Runasimipi" in page


def test_the_desk_offers_every_reason_for_passing_a_preferential_citizen(app):
    from turnero.calls import MANUAL_REASONS
    page = app.test_client().get("/counter").get_data(as_text=True)
    for code, text in MANUAL_REASONS.items():
        assert f'name="call-reason" value="{code}"' in page and text in page
    assert 'id="waiting-list"' in page and "desk_queue.js" in page
