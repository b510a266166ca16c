"""Read the shipped data and scenario files; compose a scenario; validate it once.

This is the only package that reads input files. A scenario is the baseline (``data/baseline.toml``)
with named overrides applied on top, in this priority order (later wins):

1. the baseline;
2. the scenario it ``extends`` (recursively, each resolved the same way);
3. the named ``overrides`` it lists, in the order listed; two of them setting the same key is an
   error;
4. its own ``[set]`` table.

Keys are dotted paths into the inputs (``planner.price_usd.H20``); nested tables are flattened to
the same paths. A key ending in ``+`` appends to a list instead of replacing it. Every change is
logged as ``key: old -> new`` with the file it came from, and travels with every result.

One module per job, each public name re-exported here (``from capacity.scenarios import X``):

- :mod:`~capacity.scenarios.files`: where the data lives; reading TOML and CSV within the limits;
- :mod:`~capacity.scenarios.tables`: the chip catalog, disclosures, actuals, the rule library;
- :mod:`~capacity.scenarios.keys`: dotted keys, override layers and the change log;
- :mod:`~capacity.scenarios.positions`: the exact line of a key in a TOML file, for errors;
- :mod:`~capacity.scenarios.scenario`: :class:`Scenario`, the validated result;
- :mod:`~capacity.scenarios.vintages`: the inputs as they could be known on a date;
- :mod:`~capacity.scenarios.validate`: checks of rule and chip names, errors at ``file:line``;
- :mod:`~capacity.scenarios.load`: composing and validating a scenario (:func:`load_scenario`).
"""

from __future__ import annotations

# the subject file's reader registers the currency labels of headers (capacity.subjects)
import capacity.subjects  # noqa: F401  (after the names it imports from this package)
from capacity.scenarios.files import (
    SHARED_FILES,
    SUBJECT_ENV,
    data_dir,
    data_file,
    file_sha256,
    loads_toml,
    nesting_too_deep,
    parse_set_value,
    set_subject,
    shipped_data_dir,
    value_depth,
)
from capacity.scenarios.keys import Change, Layer, flatten, source_of
from capacity.scenarios.load import (
    DEFAULT_SCENARIO,
    describe_shipped,
    load_scenario,
    read_baseline,
    shipped_scenarios,
)
from capacity.scenarios.scenario import Scenario
from capacity.scenarios.tables import (
    CATALOG_NUMERIC,
    disclosed,
    read_actuals_csv,
    read_catalog,
    read_disclosures,
    read_rule_library,
)
from capacity.scenarios.validate import check_chip_names, check_rules
from capacity.scenarios.vintages import (
    as_of_date,
    baseline_as_of,
    check_blind,
    chips_launched_after,
    default_as_of,
    disclosures_known_by,
    rules_known_by,
    source_date,
    sources_used,
    vintage_dates,
    vintage_files,
    vintage_layers,
)

__all__ = [
    "CATALOG_NUMERIC", "DEFAULT_SCENARIO", "SHARED_FILES", "SUBJECT_ENV", "Change", "Layer",
    "Scenario", "as_of_date", "baseline_as_of", "check_blind", "check_chip_names",
    "check_rules", "chips_launched_after", "data_dir", "data_file", "default_as_of",
    "describe_shipped", "disclosed", "disclosures_known_by", "file_sha256", "flatten",
    "load_scenario", "loads_toml", "nesting_too_deep", "parse_set_value", "read_actuals_csv",
    "read_baseline", "read_catalog", "read_disclosures", "read_rule_library", "rules_known_by",
    "set_subject", "shipped_data_dir", "shipped_scenarios", "source_date", "source_of",
    "sources_used", "value_depth", "vintage_dates", "vintage_files", "vintage_layers",
]
