"""Write the real-shapes corpus: files shaped like CRM, shop and warehouse exports, with known content.

Run from the repository root: ``python tests/data/real_shapes/make_shapes.py``. Every file holds the same kind
of table written another way (encoding, delimiter, separators, booleans, ids, time zones, compression);
``manifest.json`` records, per file, the command-line flags it needs and what a correct reader must get back:
the customer (or unit) ids, each row's amount in cents, the numbers of rows, of quarantined rows and of
customers whose first purchase falls on or after the calibration end.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
CALIBRATION_END = "2024-04-30"
SEED = 20241201

ZH_NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴霞"]
ZH_REGIONS = ["华东", "华北", "华南", "西南"]
TW_NAMES = ["陳志明", "林美玲", "黃建國", "張淑芬", "李宗翰", "王雅婷"]
TW_REGIONS = ["台北", "高雄", "台中"]
JA_NAMES = ["田中太郎", "山田花子", "佐藤健", "鈴木一郎", "高橋美咲"]
JA_REGIONS = ["東京", "大阪", "名古屋"]
LATIN_REGIONS = ["Zürich", "Île-de-France", "Genève", "München", "Málaga"]


def _transactions(
    rng: np.random.Generator, ids: list[str], regions: list[str], big: bool = False
) -> pd.DataFrame:
    rows = []
    for cid in ids:
        first = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 90)))
        days = np.sort(rng.integers(0, 170, size=int(rng.integers(1, 6))))
        for k, d in enumerate(days):
            day = first + pd.Timedelta(days=int(d) if k else 0)
            if day > pd.Timestamp("2024-06-30"):
                continue
            cents = int(rng.integers(100, 250_000 if big else 9_000))
            rows.append((cid, day, cents, regions[int(rng.integers(0, len(regions)))]))
    return pd.DataFrame(rows, columns=["customer_id", "date", "cents", "region"])


def _amount(cents: int, decimal: str = ".", thousands: str = "") -> str:
    whole, frac = divmod(cents, 100)
    text = f"{whole:,}".replace(",", thousands)
    return f"{text}{decimal}{frac:02d}"


def _write_text(name: str, header: list[str], lines: list[list[str]], *, encoding: str, sep: str = ",",
                newline: str = "\n") -> bytes:  # fmt: skip
    text = newline.join([sep.join(header), *(sep.join(line) for line in lines)]) + newline
    data = text.encode(encoding)
    if name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    (HERE / name).write_bytes(data)
    return data


def _record(manifest: dict, name: str, tx: pd.DataFrame, args: list[str], quarantined: int = 0) -> None:
    firsts = tx.groupby("customer_id")["date"].min().dt.strftime("%Y-%m-%d")
    manifest[name] = {
        "kind": "transactions",
        "args": args,
        "ids": sorted(set(tx["customer_id"])),
        "cents": [int(c) for c in tx["cents"]],
        "rows": len(tx),
        "quarantined": quarantined,
        "first_on_calibration_end": int((firsts == CALIBRATION_END).sum()),
        "first_after_calibration_end": int((firsts > CALIBRATION_END).sum()),
    }


def _lines(tx: pd.DataFrame, *, decimal: str = ".", thousands: str = "", date_format: str = "%Y-%m-%d",
           region: bool = True) -> list[list[str]]:  # fmt: skip
    out = []
    for r in tx.itertuples(index=False):
        line = [r.customer_id, r.date.strftime(date_format), _amount(r.cents, decimal, thousands)]
        out.append([*line, r.region] if region else line)
    return out


def _transaction_shapes(rng: np.random.Generator, manifest: dict) -> None:
    std = ["customer_id", "date", "amount", "region"]
    flags = ["--extra-col", "region"]

    def ids(names: list[str], n: int = 40) -> list[str]:
        return [f"{names[i % len(names)]}{i:03d}" for i in range(n)]

    zh = _transactions(rng, ids(ZH_NAMES), ZH_REGIONS)
    zh_header = ["客户编号", "日期", "金额", "地区"]
    zh_flags = [
        "--customer-col",
        "客户编号",
        "--date-col",
        "日期",
        "--amount-col",
        "金额",
        "--extra-col",
        "地区",
    ]
    _write_text("gb18030_chinese_headers.csv", zh_header, _lines(zh), encoding="gb18030")
    _record(manifest, "gb18030_chinese_headers.csv", zh, zh_flags)

    gbk = _transactions(rng, ids(ZH_NAMES), ZH_REGIONS)
    _write_text("gbk_chinese_values.csv", std, _lines(gbk), encoding="gbk")
    _record(manifest, "gbk_chinese_values.csv", gbk, flags)

    tw = _transactions(rng, ids(TW_NAMES), TW_REGIONS)
    _write_text("big5_traditional.csv", std, _lines(tw), encoding="big5")
    _record(manifest, "big5_traditional.csv", tw, flags)

    ja = _transactions(rng, ids(JA_NAMES), JA_REGIONS)
    _write_text("shift_jis_japanese.csv", std, _lines(ja), encoding="shift_jis")
    # 40 names of 4 kanji read as Korean (cp949) as cleanly as Japanese: detection stops and asks
    _record(manifest, "shift_jis_japanese.csv", ja, [*flags, "--encoding", "shift_jis"])
    manifest["shift_jis_japanese.csv"]["undetectable"] = "cp932"

    plain = [f"C{i:04d}" for i in range(40)]
    u16 = _transactions(rng, plain, LATIN_REGIONS)
    _write_text("utf16_bom_tabs.csv", std, _lines(u16), encoding="utf-16", sep="\t")
    _record(manifest, "utf16_bom_tabs.csv", u16, flags)

    u16le = _transactions(rng, plain, LATIN_REGIONS)
    _write_text("utf16le_no_bom.csv", std, _lines(u16le), encoding="utf-16-le")
    _record(manifest, "utf16le_no_bom.csv", u16le, flags)

    excel = _transactions(rng, plain, LATIN_REGIONS, big=True)
    _write_text("excel_bom_semicolon_decimal_comma.csv", std, _lines(excel, decimal=",", thousands="."),
                encoding="utf-8-sig", sep=";", newline="\r\n")  # fmt: skip
    _record(manifest, "excel_bom_semicolon_decimal_comma.csv", excel, flags)

    us = _transactions(rng, plain, LATIN_REGIONS, big=True)
    _write_text("us_thousands_semicolon.csv", std, _lines(us, thousands=","), encoding="utf-8", sep=";")
    _record(manifest, "us_thousands_semicolon.csv", us, flags)

    whole = _transactions(rng, plain, LATIN_REGIONS)
    whole["cents"] = np.where(np.arange(len(whole)) % 5 == 0, whole["cents"], whole["cents"] // 100 * 100)
    lines = [[c, d.strftime("%Y-%m-%d"), (f"{v // 100}" if v % 100 == 0 else _amount(v, ",")), r]
             for c, d, v, r in whole.itertuples(index=False)]  # fmt: skip
    _write_text("mostly_whole_decimal_comma.csv", std, lines, encoding="utf-8", sep=";")
    _record(manifest, "mostly_whole_decimal_comma.csv", whole, flags)

    zeros = _transactions(rng, [f"{i:06d}" for i in range(7, 47)], LATIN_REGIONS)
    _write_text("int_ids_leading_zeros.csv", std, _lines(zeros), encoding="utf-8")
    _record(manifest, "int_ids_leading_zeros.csv", zeros, flags)

    strings = _transactions(rng, [f"cust-{i:03d}-x" for i in range(40)], LATIN_REGIONS)
    _write_text("string_ids_pipes.csv", std, _lines(strings), encoding="utf-8", sep="|")
    _record(manifest, "string_ids_pipes.csv", strings, flags)

    tz = _transactions(rng, plain, LATIN_REGIONS)
    tz_lines = [
        [c, d.strftime("%Y-%m-%dT12:00:00+02:00"), _amount(v), r] for c, d, v, r in tz.itertuples(index=False)
    ]
    _write_text("timestamps_with_time_zone.csv", std, tz_lines, encoding="utf-8")
    _record(manifest, "timestamps_with_time_zone.csv", tz, flags)

    on_end = _transactions(rng, plain, LATIN_REGIONS)
    late = pd.DataFrame([(f"N{i}", pd.Timestamp(CALIBRATION_END), 1000 + i, "Genève") for i in range(8)],
                        columns=on_end.columns)  # fmt: skip
    on_end = pd.concat([on_end, late], ignore_index=True)
    _write_text("first_purchase_on_calibration_end.csv", std, _lines(on_end), encoding="utf-8")
    _record(manifest, "first_purchase_on_calibration_end.csv", on_end, flags)

    after = _transactions(rng, plain, LATIN_REGIONS)
    new = pd.DataFrame([(f"A{i}", pd.Timestamp("2024-05-15"), 2000 + i, "Zürich") for i in range(5)],
                       columns=after.columns)  # fmt: skip
    after = pd.concat([after, new], ignore_index=True)
    _write_text("first_purchase_after_calibration_end.csv", std, _lines(after), encoding="utf-8")
    _record(manifest, "first_purchase_after_calibration_end.csv", after, flags)

    gz = _transactions(rng, plain, LATIN_REGIONS)
    _write_text("gzipped.csv.gz", std, _lines(gz), encoding="utf-8")
    _record(manifest, "gzipped.csv.gz", gz, flags)

    pq = _transactions(rng, ids(ZH_NAMES), ZH_REGIONS)
    pd.DataFrame({"customer_id": pq["customer_id"], "date": pq["date"], "amount": pq["cents"] / 100,
                  "region": pq["region"]}).to_parquet(HERE / "parquet_chinese_values.parquet", index=False)  # fmt: skip
    _record(manifest, "parquet_chinese_values.parquet", pq, flags)

    western = _transactions(rng, plain, LATIN_REGIONS)
    _write_text("cp1252_western.csv", std, _lines(western), encoding="cp1252")
    _record(manifest, "cp1252_western.csv", western, flags)

    dmy = _transactions(rng, plain, LATIN_REGIONS)
    _write_text("day_first_dates_crlf.csv", std, _lines(dmy, date_format="%d/%m/%Y"), encoding="utf-8",
                newline="\r\n")  # fmt: skip
    _record(manifest, "day_first_dates_crlf.csv", dmy, flags)

    currency = _transactions(rng, plain, LATIN_REGIONS)
    cur_lines = _lines(currency)
    cur_lines[3][2] = "$" + cur_lines[3][2]
    _write_text("one_amount_with_currency_sign.csv", std, cur_lines, encoding="utf-8")
    _record(manifest, "one_amount_with_currency_sign.csv", currency.drop(index=3).reset_index(drop=True),
            [*flags, "--max-bad-share", "0.05"], quarantined=1)  # fmt: skip
    manifest["one_amount_with_currency_sign.csv"]["rows"] = len(currency)


def _experiment_shapes(rng: np.random.Generator, manifest: dict) -> None:
    n = 400
    units = [f"U{i:05d}" for i in range(n)]
    for name, arms, words, encoding in [
        ("experiment_pandas_booleans.csv", ["control", "push"], ("True", "False"), "utf-8"),
        ("experiment_yes_no.csv", ["control", "email"], ("yes", "no"), "utf-8"),
        ("experiment_chinese_arms_gb18030.csv", ["对照组", "短信"], ("TRUE", "FALSE"), "gb18030"),
    ]:
        arm = [arms[i % 2] for i in range(n)]
        converted = rng.random(n) < np.where(np.arange(n) % 2 == 0, 0.10, 0.16)
        loyal = rng.random(n) < 0.4
        spend_cents = np.where(converted, rng.integers(500, 20_000, n), 0)
        lines = [[u, a, words[0] if c else words[1], words[0] if lo else words[1], _amount(int(s))]
                 for u, a, c, lo, s in zip(units, arm, converted, loyal, spend_cents, strict=True)]  # fmt: skip
        _write_text(name, ["unit_id", "arm", "converted", "loyal", "spend"], lines, encoding=encoding)
        manifest[name] = {
            "kind": "experiment",
            "arms": arms,
            "ids": sorted(units),
            "converted": [int(c) for c in converted],
            "spend_cents": [int(s) for s in spend_cents],
            "rows": n,
            "quarantined": 0,
            "args": ["--encoding", encoding] if encoding != "utf-8" else [],
        }


def main() -> None:
    rng = np.random.default_rng(SEED)
    manifest: dict = {"calibration_end": CALIBRATION_END, "files": {}}
    _transaction_shapes(rng, manifest["files"])
    _experiment_shapes(rng, manifest["files"])
    (HERE / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    print(f"wrote {len(manifest['files'])} files to {HERE}")


if __name__ == "__main__":
    main()
