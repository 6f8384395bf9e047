"""The contract every graded exercise's tests follow: pass on the solution, fail on the stub,
fail on each plausible wrong implementation (for the reason given), and the first message a student
reads names the actual mistake (one bug, one message: course_lib.selfcheck.report)."""
import exercises

from course_lib.selfcheck import PASS, TODO, run_checks


def failed_tests(exercise_id: str, obj) -> dict[str, str]:
    """{test description: message} of the public tests `obj` does not pass."""
    return {r.test: r.message for r in run_checks(exercise_id, obj) if r.status != PASS}


def first_failure(exercise_id: str, obj) -> tuple[str, str]:
    """(description, message) of the first failing test: what `check` shows first, in full."""
    return next(((r.test, r.message) for r in run_checks(exercise_id, obj) if r.status != PASS), ("", ""))


def assert_solution_passes(notebook: str, exercise_id: str):
    obj = exercises.solution(notebook, exercise_id)
    assert failed_tests(exercise_id, obj) == {}, f"solution of {exercise_id} fails its own checks"
    return obj


def assert_stub_fails(notebook: str, exercise_id: str):
    results = run_checks(exercise_id, exercises.stub(notebook, exercise_id))
    assert results and all(r.status == TODO for r in results), [(r.test, r.status) for r in results]


def assert_wrong_fails(exercise_id: str, wrong, because: str):
    """`wrong` must fail, and one of the failing tests' descriptions must contain `because`."""
    failed = failed_tests(exercise_id, wrong)
    assert failed, f"wrong implementation passed every check of {exercise_id}"
    assert any(because in name for name in failed), f"failed for other reasons: {failed}"


def assert_first_message_names(exercise_id: str, wrong, mistake: str):
    """The first failing test's description or message (the one hint `check` prints in full) contains `mistake`."""
    test, message = first_failure(exercise_id, wrong)
    assert test, f"wrong implementation passed every check of {exercise_id}"
    assert mistake in test or mistake in message, f"the first message does not name the mistake: {test}: {message}"
