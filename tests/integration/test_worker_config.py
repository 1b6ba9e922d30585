"""The Celery app is wired the way the design promises."""

from engine.settings import Settings, get_settings
from workers.celery_app import app
from workers.config import GENERATE_TASK, SWEEP_TASK, celery_config


def test_messages_survive_a_lost_worker():
    conf = app.conf

    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_ignore_result is True
    assert conf.task_serializer == "json"
    assert conf.broker_transport_options["visibility_timeout"] == (
        get_settings().broker_visibility_timeout
    )


def test_flower_sees_task_events():
    assert app.conf.worker_send_task_events is True
    assert app.conf.task_send_sent_event is True


def test_generation_and_housekeeping_use_separate_queues():
    queues = {queue.name for queue in app.conf.task_queues}

    assert queues == {"generate", "default"}
    assert app.amqp.router.route({}, GENERATE_TASK)["queue"].name == "generate"
    assert app.amqp.router.route({}, SWEEP_TASK)["queue"].name == "default"


def test_beat_sweeps_at_the_configured_interval():
    config = celery_config(Settings(sweep_interval_seconds=7))

    entry = config["beat_schedule"]["sweep-jobs"]
    assert (entry["task"], entry["schedule"]) == (SWEEP_TASK, 7.0)


def test_embedded_settings_point_celery_at_the_unix_socket(tmp_path):
    settings = Settings(
        var_dir=tmp_path, configured_redis_url=None, broker_key_prefix=""
    )

    config = celery_config(settings)

    assert config["broker_url"] == f"redis+socket://{tmp_path / 'redis.sock'}"
    assert "global_keyprefix" not in config["broker_transport_options"]


def test_generate_task_is_bounded_by_the_job_deadline():
    task = app.tasks[GENERATE_TASK]
    deadline = get_settings().job_deadline_seconds

    assert task.soft_time_limit == deadline
    assert task.time_limit > deadline
