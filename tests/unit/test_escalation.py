"""Art. 24 as the bundle declares it: processes/supervision.bpmn issues the escalation levels
that processes/supervision.yaml times, and a bundle whose supervision process is missing, or
does not wait for a message the register sends, is refused before deployment."""
import ast

from hotline import escalation
from runtime import repository, validation
from workdays import deadlines


def test_the_diagram_issues_each_level_the_settings_time():
    _spec, subs = repository.parse(repository.read_bundle())
    issued = [ast.literal_eval(t.operation_params["level"]["value"]) for t in subs[escalation.PROCESS].task_specs.values()
              if getattr(t, "operation_name", None) == "escalate_supervision"]
    assert sorted(issued) == sorted(escalation.limits()) == ["interview_reminder", "notice", "rectification_notice"]
    assert all(deadlines.working_days(limit) > 0 for limit in escalation.limits().values())


def test_a_bundle_without_the_supervision_process_or_a_message_is_refused():
    files = repository.read_bundle()
    without = {k: v for k, v in files.items() if k != "supervision.bpmn"}
    [problem] = [p for p in validation.check(without) if p.rule == "supervision"]
    assert (problem.file, problem.element_id) == ("appeal_handling.bpmn", "appeal_handling")
    assert "督办流程" in problem.message and "Art. 24" in problem.message_en
    renamed = {**files, "supervision.bpmn": files["supervision.bpmn"].replace(
        'name="supervision_send_back"', 'name="send_back_v2"')}
    [problem] = [p for p in validation.check(renamed) if p.rule == "supervision"]
    assert (problem.file, problem.element_id) == ("supervision.bpmn", "supervision")
    assert "supervision_send_back" in problem.message_en
    assert [p for p in validation.check(files) if p.rule == "supervision"] == []
