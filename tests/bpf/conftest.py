import os

from hypothesis import settings

#: scale every property test with LWNLAB_HYPOTHESIS_EXAMPLES (default modest, for CI's budget)
EXAMPLES = int(os.environ.get("LWNLAB_HYPOTHESIS_EXAMPLES", "150"))
settings.register_profile("lwnlab-bpf", max_examples=EXAMPLES, deadline=None)
