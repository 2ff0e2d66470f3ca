-- Fewer serialization failures between independent writes (see the
-- package doc, "Transactions").
--
-- A tag no longer references its manifest by foreign key: the key's check
-- on every tag write read the manifests index's page, the page that
-- concurrent pushes into the repository insert their manifests into, so
-- such pushes failed each other. Tags.Put checks the manifest itself,
-- unless its transaction put that manifest; Manifests.Delete deletes the
-- manifest's tags, and a repository's deletion cascades to them here.
ALTER TABLE tags DROP CONSTRAINT tags_repo_id_digest_fkey;
ALTER TABLE tags ADD CONSTRAINT tags_repo_id_fkey FOREIGN KEY (repo_id) REFERENCES repositories (id) ON DELETE CASCADE;

-- Room in each page for a session's next version, so that saving a
-- session after a chunk is a HOT update, which adds no index entry for
-- other sessions' readers to conflict with.
ALTER TABLE uploads SET (fillfactor = 50);
