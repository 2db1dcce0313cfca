# -*- encoding: utf-8 -*-
# stub: hello_nyscan 0.3.1 ruby lib

Gem::Specification.new do |s|
  s.name = "hello_nyscan".freeze
  s.version = "0.3.1"

  s.required_rubygems_version = Gem::Requirement.new(">= 0".freeze) if s.respond_to? :required_rubygems_version=
  s.require_paths = ["lib".freeze]
  s.authors = ["nyscan".freeze]
  s.date = "2026-11-30"
  s.licenses = ["BSD-2-Clause".freeze]
  s.rubygems_version = "3.3.15".freeze
  s.summary = "nyscan test gem".freeze

  s.installed_by_version = "3.3.15" if s.respond_to? :installed_by_version
end
