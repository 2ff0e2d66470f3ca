-- The job runner's count of attempts in a row given back because a
-- backend was unavailable (meta.Job.GivenBack).
ALTER TABLE jobs ADD COLUMN given_back integer NOT NULL DEFAULT 0;
