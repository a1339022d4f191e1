"""Searches correctly, then asks the step function about one prefix past the stopping point (a
wasted look-ahead) and hides it: it writes the depth it should have stopped at into the step
function's ``longest``, where the given NGramStep keeps its record. The grader's step function
keeps its own record, out of the upload's reach, so the wasted call still shows."""

_searched = beam_search  # noqa: F821 - appended to the reference module


def beam_search(step_logprobs, bos, eos, beam_size, max_len):
    deepest = [0]

    def counted(prefix):
        deepest[0] = max(deepest[0], len(prefix))
        return step_logprobs(prefix)

    result = _searched(counted, bos, eos, beam_size, max_len)
    step_logprobs([bos] * (max_len + 1))  # the look-ahead no search needs
    step_logprobs.longest = deepest[0]  # the record NGramStep keeps, overwritten
    return result
