"""One logging set-up for every rule job: its log file gets its records and its traceback."""

import logging

import pytest

from vidcarbon.logs import logged


def test_a_rule_log_holds_the_jobs_records_and_the_traceback_of_its_failure(tmp_path):
    path = tmp_path / "logs" / "rule.log"
    with logged(path):
        logging.getLogger("vidcarbon.test").info("first table written")
    with pytest.raises(ValueError, match="bad row"), logged(path):
        logging.getLogger("vidcarbon.test").warning("second table")
        raise ValueError("bad row")
    text = path.read_text()
    assert "INFO vidcarbon.test: first table written" in text  # appended, not replaced
    assert "WARNING vidcarbon.test: second table" in text
    assert "ERROR vidcarbon.rule: the job failed" in text
    assert 'raise ValueError("bad row")' in text and "ValueError: bad row" in text
