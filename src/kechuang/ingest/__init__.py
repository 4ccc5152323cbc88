"""Departmental data intake (数据归集): templates, readers, validation, batches, rollback."""
