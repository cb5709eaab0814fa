import re
import string

from portal.i18n import LOCALES_DIR, catalogue, translate


def test_both_catalogues_have_the_same_keys_per_file():
    for zh_file in sorted((LOCALES_DIR / "zh").glob("*.toml")):
        en_file = LOCALES_DIR / "en" / zh_file.name
        assert en_file.exists(), f"missing English catalogue {en_file.name}"
    zh, en = catalogue("zh"), catalogue("en")
    assert set(zh) == set(en), sorted(set(zh) ^ set(en))


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_placeholders_agree_and_texts_are_not_empty():
    zh, en = catalogue("zh"), catalogue("en")
    for key in zh:
        assert zh[key].strip() and en[key].strip(), key
        assert _fields(zh[key]) == _fields(en[key]), key


def test_chinese_catalogue_is_chinese():
    cjk = re.compile(r"[\u4e00-\u9fff]")
    zh = catalogue("zh")
    untranslated = [k for k, v in zh.items() if not cjk.search(v) and not re.fullmatch(r"[{}\w ·%./:-]*", v)]
    assert not untranslated


def test_missing_key_falls_back_to_the_key_and_bad_params_do_not_crash():
    assert translate("en", "no.such.key") == "no.such.key"
    assert translate("zh", "auth.pw_length", min=8) == catalogue("zh")["auth.pw_length"]
