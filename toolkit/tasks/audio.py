"""What the audio tasks share: the sample rate given to the features, feature augmentation
checked before data is read, and the noise bank that waveform augmentation mixes in."""

from __future__ import annotations

from typing import Any, ClassVar

from toolkit.config import AudioAugmentConfig, DataConfig
from toolkit.tasks.base import InputKind, Task


class AudioTask(Task):
    """Base of the tasks whose models take waveforms at `sample_rate`."""

    input_kind: ClassVar[InputKind] = "audio"
    augment_config: ClassVar[type] = AudioAugmentConfig
    path_columns: ClassVar[tuple[str, ...]] = ("audio",)
    sample_rate: int

    def feature_arguments(self) -> dict[str, Any]:
        return {"sample_rate": self.sample_rate}

    def check_augment(self, *, augment: AudioAugmentConfig, features: Any) -> None:
        """Builds the feature augmentation layers once, so a bad setting stops the run early."""
        from toolkit.audio.augment import feature_augmentation_layers

        feature_augmentation_layers(augment, features)

    def augmentation_resources(self, *, augment: AudioAugmentConfig, data: DataConfig) -> Any:
        """The background-noise bank (recordings of `augment.noise_folder`, or generated
        noise) when training mixes noise in; None otherwise."""
        if not augment.noise_probability:
            return None
        from toolkit.audio.augment import load_noise_bank

        return load_noise_bank(augment.noise_folder, self.sample_rate, seed=data.seed)
