"""benchmarks/outsider_sets.py, what the outsider prompt makers share: the third set (which has no
test file of its own) is, to the byte, what its maker writes through the shared command line, and a
set size that does not split evenly over the categories is refused."""

import pytest
from benchmark_scripts import load_benchmark


def test_third_set_is_byte_for_byte_what_its_maker_writes(tmp_path, capsys):
    make = load_benchmark("outsider3_prompts_make")
    assert make.main(["--out", str(tmp_path / "p.json")]) == 0
    assert (tmp_path / "p.json").read_bytes() == make.OUT.read_bytes()
    assert capsys.readouterr().out == f"wrote 300 prompts to {tmp_path / 'p.json'}\n"


def test_a_set_size_that_does_not_split_over_the_categories_is_refused():
    sets = load_benchmark("outsider_sets")
    assert sets.per_category(300) == 75
    for n in (0, 6):
        with pytest.raises(SystemExit, match=f"--n must be a positive multiple of 4, got {n}"):
            sets.per_category(n)
