"""The stages of a bootstrap, once: their order, the Step Functions task that runs each in the cloud, and how far
along (percent) a bootstrap is when each starts.

`perceo init` runs them in-process in this order (`perceo.bootstrap.pipeline.run_bootstrap`); the
`BootstrapProject` state machine (`statemachines/bootstrap_project.asl.json`) calls the Lambda named by `task` in
the same order, each a door onto the same stage function (`perceo.workflows.bootstrap_steps`); progress records
show `name` and `progress`. Tests hold the ASL's task order and the in-process run to this list.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    #: The stage's name, as progress shows it (`GET /workflows/{id}`, `perceo init`'s progress bar).
    name: str
    #: The definition's placeholder for the Lambda that runs it (`"Resource": "${ValidateProjectFunctionArn}"`).
    task: str
    #: Percentage reported when the stage starts (the original's progress model).
    progress: int


BOOTSTRAP_STAGES: tuple[Stage, ...] = (
    Stage("validate", "ValidateProjectFunctionArn", 5),
    Stage("discover", "CloneAndDiscoverFunctionArn", 12),
    Stage("identify_flows", "IdentifyFlowsFunctionArn", 20),
    Stage("assign_personas", "AssignPersonasFunctionArn", 35),
    Stage("refine", "RefineFunctionArn", 40),
    Stage("persist_flows", "PersistFlowsFunctionArn", 45),
    Stage("extract_steps", "ExtractStepsFunctionArn", 60),
    Stage("persist_steps", "PersistStepsFunctionArn", 95),
    Stage("cleanup", "CleanupFunctionArn", 98),
)

STAGE_NAMES: tuple[str, ...] = tuple(stage.name for stage in BOOTSTRAP_STAGES)
STAGE_PROGRESS: dict[str, int] = {stage.name: stage.progress for stage in BOOTSTRAP_STAGES}

#: Points within stages that the cloud reports too: the clone (the first half of `discover`), the flows stored
#: (the end of `persist_flows`), and the finished bootstrap.
CLONE_PROGRESS = 8
FLOWS_PERSISTED_PROGRESS = 55
COMPLETE_PROGRESS = 100
#: `extract_steps` advances from its start to `persist_steps`'s as the map's items finish.
EXTRACT_SPAN = STAGE_PROGRESS["persist_steps"] - STAGE_PROGRESS["extract_steps"]
