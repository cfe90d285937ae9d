"""Convert asks the Keras semantics table (tfbridge/keras29) about every serialized built-in.

For the saver's Keras line the table says, per built-in: renamed arguments (renamed back), new
arguments at their no-op default (dropped, as neutral), and a computation that changed under the
same name (refused, naming the construct and the measured difference). New arguments set to
anything else stay in the config: the rewriters refuse them for layers, and drop them (as a loss
for further training only) from training objects, which never change what a loaded model
predicts. Where the table has no word (a line it did not probe, a name it does not compare) the
knowledge file and the hand-written rules decide.
"""

from __future__ import annotations

from typing import Any

from tfbridge.convert.report import RETRAIN_HINT, Effect, Notes
from tfbridge.keras29.semantics import Verdict, judge, saver_line, tf_nn_name_in_29

REPLACE_HINT = "replace it with built-in Keras layers, or " + RETRAIN_HINT

Json = dict[str, Any]


class SemanticsGate:
    def __init__(self, keras_version: str | None, notes: Notes) -> None:
        self.line = saver_line(keras_version)
        self.notes = notes

    def layer(self, class_name: str, config: Json, where: str) -> Json:
        """The layer config with the table's exact rewrites; a changed meaning is refused."""
        verdict = self._judge("layer", class_name, config)
        if verdict is None:
            return config
        if verdict.refusal is not None:
            self.notes.refuse(f"{where}: {verdict.refusal.reason}", REPLACE_HINT)
        self._record(verdict, where, "none")
        return verdict.config

    def activation(self, name: str, where: str) -> bool:
        """Refuse (and return True) an activation whose formula changed in the saver's line."""
        verdict = self._judge("activation", name, {})
        if verdict is None or not verdict.change.computation_changed:
            return False
        self.notes.refuse(f"{where} uses `{name}`: {verdict.change.reason}", REPLACE_HINT)
        return True

    def activation_name(self, written: str) -> str | None:
        """2.9's name for an activation the saver wrote under another name (a tf.nn function)."""
        if self.line is None:
            return None
        name_29 = tf_nn_name_in_29(written, self.line)
        return name_29 if name_29 != written else None

    def training_object(self, kind: str, class_name: str, config: Json, where: str) -> Json:
        """An optimizer, schedule, loss, metric, initializer, regularizer or constraint config
        with the table's renames and default-valued drops; nothing here changes predictions."""
        verdict = self._judge(kind, class_name, config)
        if verdict is None:
            return config
        self._record(verdict, where, "none")
        return verdict.config

    def _judge(self, kind: str, name: str, config: Json) -> Verdict | None:
        if self.line is None:
            return None
        # The rewriter asks about each activation itself, in every form a config writes it.
        return judge(self.line, kind, name, config, activations=False)

    def _record(self, verdict: Verdict, where: str, effect: Effect) -> None:
        for old, new in verdict.renamed.items():
            self.notes.change(
                f"{verdict.change.name}: `{old}` renamed to `{new}` "
                f"(its name in Keras line {verdict.change.line})"
            )
        for arg, value in verdict.dropped.items():
            self.notes.drop(where, arg, value, effect)
