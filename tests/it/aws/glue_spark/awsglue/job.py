"""`Job(glue_context)`: `init(name, args)` starts the run's bookkeeping (bookmarks), `commit()`
ends it. Initialising twice, or committing a job not initialised, is an error."""


class Job:
    def __init__(self, glue_context):
        self._context = glue_context
        self._name = None
        self.committed = False

    def init(self, job_name, args=None):
        if self._name is not None:
            raise RuntimeError("the job is already initialised")
        if not job_name:
            raise RuntimeError("a job needs its name (JOB_NAME)")
        self._name = job_name
        self._args = dict(args or {})

    def commit(self):
        if self._name is None:
            raise RuntimeError("commit before init")
        self.committed = True
