-- `with_carers`: a copy of eligibility.with_carers (1 when the ages are the children's and
-- the parents or carers who bring them join in), written by the store with every save
-- (base.FilterColumns), so the age filter lets grown-ups into parent and toddler groups.
-- No stored document can have it yet: the field is new with this version.

ALTER TABLE assets ADD COLUMN with_carers INTEGER NOT NULL DEFAULT 0;
