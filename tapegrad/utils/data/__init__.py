"""tg.utils.data: datasets, splits and the DataLoader, as torch.utils.data."""

from tapegrad.utils.data.dataloader import DataLoader, default_collate
from tapegrad.utils.data.dataset import Dataset, Subset, TensorDataset, random_split

__all__ = ["DataLoader", "Dataset", "Subset", "TensorDataset", "default_collate", "random_split"]
